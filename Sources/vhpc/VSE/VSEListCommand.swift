import ArgumentParser
import Foundation
import TextReport
import VSE

/// `vhpc vse list`: cached images, with the disk their node copies take.
struct VSEListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List cached images.")

    @Flag(help: "Print JSON (schema 1).") var json = false

    struct ImageJSON: Encodable {
        var id: String
        var name: String
        var base: String
        var format: String
        var kernel: String
        var bytes: UInt64
        var nodeCopies: Int
        var nodeCopyBytes: UInt64
        var createdAt: Date
    }

    struct ListJSON: Encodable {
        var schema = 1
        var images: [ImageJSON]
    }

    func run() throws {
        let store = ImageStore(state: StateDirectory.resolve())
        let images = store.list().map { entry in
            let copies = store.nodeCopies(of: entry.manifest.id)
            return ImageJSON(
                id: entry.manifest.id, name: entry.manifest.name, base: entry.manifest.base, format: entry.manifest.format,
                kernel: entry.manifest.kernelRelease, bytes: DiskUsage.bytes(at: entry.directory), nodeCopies: copies.count,
                nodeCopyBytes: copies.reduce(0) { $0 + DiskUsage.bytes(at: $1) }, createdAt: entry.manifest.createdAt)
        }
        if json {
            print(try JobHistoryAccess.json(ListJSON(images: images)))
            return
        }
        var rows = [["ID", "NAME", "BASE", "FORMAT", "KERNEL", "SIZE", "NODE COPIES", "CREATED"]]
        let dateFormat = ISO8601DateFormatter()
        for image in images {
            rows.append([String(image.id.prefix(12)), image.name, image.base, image.format, image.kernel,
                         ByteFormatting.human(image.bytes),
                         image.nodeCopies == 0 ? "-" : "\(image.nodeCopies) (\(ByteFormatting.human(image.nodeCopyBytes)))",
                         dateFormat.string(from: image.createdAt)])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
