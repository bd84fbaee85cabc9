import ArgumentParser
import TextReport
import VSE

/// `vhpc vse rm NAME|ID…`: remove images (and their node copies) from the cache; an image a live VM or a
/// running job uses is kept unless `--force`.
struct VSERemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images and their node copies from the cache.")

    @Argument(help: "Image names, ids or unambiguous id prefixes.") var images: [String]
    @Flag(help: "Remove even an image a live VM or a running job uses.") var force = false

    func run() throws {
        let store = ImageStore(state: StateDirectory.resolve())
        let usage = ImageUsage()
        for reference in images {
            do {
                let entry = try store.resolve(reference)
                let users = usage.users(of: entry.manifest.id)
                if !users.isEmpty, !force {
                    throw CLIErrors.fail("image \(entry.manifest.name) \(entry.manifest.id.prefix(12)) is in use by \(users.joined(separator: ", ")) (--force removes it anyway)")
                }
                let freed = try store.removeNodeCopies(of: entry.manifest.id) + DiskUsage.bytes(at: entry.directory)
                    + SnapshotStore.removeEverywhere(imageID: entry.manifest.id, state: store.state)
                try store.remove(entry)
                print("removed \(entry.manifest.name) \(entry.manifest.id.prefix(12)) (\(ByteFormatting.human(freed)))")
            } catch let error as ExitCode {
                throw error
            } catch {
                throw CLIErrors.fail("\(error)")
            }
        }
    }
}
