import ArgumentParser
import Foundation
import VSE

/// `vhpc vse list`: cached images.
struct VSEListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List cached images.")

    func run() throws {
        let entries = ImageStore(state: StateDirectory.resolve()).list()
        var rows = [["ID", "NAME", "BASE", "FORMAT", "KERNEL", "SIZE", "CREATED"]]
        let dateFormat = ISO8601DateFormatter()
        for entry in entries {
            let m = entry.manifest
            let size = m.kernel.size + m.initrd.size + (m.disk?.size ?? 0)
            rows.append([String(m.id.prefix(12)), m.name, m.base, m.format, m.kernelRelease,
                         ByteFormatting.human(size), dateFormat.string(from: m.createdAt)])
        }
        print(TextTable.render(rows), terminator: "")
    }
}
