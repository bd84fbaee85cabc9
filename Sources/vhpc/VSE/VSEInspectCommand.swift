import ArgumentParser
import Foundation
import VSE

/// `vhpc vse inspect NAME|ID`: print an image's manifest (JSON).
struct VSEInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Print an image's manifest.")

    @Argument(help: "Image name, id or id prefix.") var image: String

    func run() throws {
        let entry: ImageEntry
        do { entry = try ImageStore(state: StateDirectory.resolve()).resolve(image) } catch { throw CLIErrors.fail("\(error)") }
        print(String(decoding: try entry.manifest.encoded(), as: UTF8.self))
        print("// directory: \(entry.directory)")
    }
}
