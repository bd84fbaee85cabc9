import ArgumentParser
import VSE

/// `vhpc vse rm NAME|ID…`: remove images from the cache.
struct VSERemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove images from the cache.")

    @Argument(help: "Image names, ids or id prefixes.") var images: [String]

    func run() throws {
        let store = ImageStore(state: StateDirectory.resolve())
        for reference in images {
            do {
                let entry = try store.resolve(reference)
                try store.remove(entry)
                print("removed \(entry.manifest.name) \(entry.manifest.id.prefix(12))")
            } catch {
                throw CLIErrors.fail("\(error)")
            }
        }
    }
}
