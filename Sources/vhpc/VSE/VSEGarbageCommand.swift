import ArgumentParser
import Foundation
import TextReport
import VSE

/// `vhpc vse gc`: frees the cache of what no one needs: node copies of images no running job uses, node
/// copies of images no longer cached, and older builds of a name that a newer build replaced.
struct VSEGarbageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove node copies and superseded images that nothing uses.")

    @Flag(name: .customLong("dry-run"), help: "Only print what would be removed.") var dryRun = false

    func run() throws {
        let store = ImageStore(state: StateDirectory.resolve())
        let images = store.list()
        let usage = ImageUsage()
        var newestOfName = Set<String>()
        var seenNames = Set<String>()
        for entry in images where seenNames.insert(entry.manifest.name).inserted { newestOfName.insert(entry.manifest.id) }
        var freed: UInt64 = 0
        var removed = 0
        for id in store.idsWithNodeCopies().sorted() {
            let users = usage.users(of: id)
            guard users.isEmpty else {
                print("kept node copies of \(id.prefix(12)): in use by \(users.joined(separator: ", "))")
                continue
            }
            let copies = store.nodeCopies(of: id)
            let bytes = copies.reduce(UInt64(0)) { $0 + DiskUsage.bytes(at: $1) }
            print("\(dryRun ? "would remove" : "removed") \(copies.count) node cop\(copies.count == 1 ? "y" : "ies") of \(id.prefix(12)) (\(ByteFormatting.human(bytes)))")
            if !dryRun { freed += try remove { try store.removeNodeCopies(of: id) } }
            removed += copies.count
        }
        for entry in images where !newestOfName.contains(entry.manifest.id) {
            guard usage.users(of: entry.manifest.id).isEmpty else { continue }
            let bytes = DiskUsage.bytes(at: entry.directory)
            print("\(dryRun ? "would remove" : "removed") superseded image \(entry.manifest.name) \(entry.manifest.id.prefix(12)) (\(ByteFormatting.human(bytes)))")
            if !dryRun {
                try remove { try store.remove(entry) }
                freed += bytes + SnapshotStore.removeEverywhere(imageID: entry.manifest.id, state: store.state)
            }
            removed += 1
        }
        if removed == 0 { print("nothing to remove") } else if !dryRun { print("freed \(ByteFormatting.human(freed))") }
    }

    private func remove<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw CLIErrors.fail("\(error)") }
    }
}
