import ArgumentParser
import Foundation
import VSE

/// `vhpc vse build FILE`: build (or find in the cache) the image; prints its id.
struct VSEBuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build", abstract: "Build a VSE spec into a VM image; prints the image id.")

    @Argument(help: "The VSE spec (YAML).") var file: String
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false

    func run() throws {
        let spec = try CLIErrors.loadSpec(file)
        InterruptHandler.install()
        let result = try Self.build(spec, quiet: quiet)
        print(result.entry.manifest.id)
    }

    static func build(_ spec: VSESpec, quiet: Bool) throws -> ImageBuilder.Result {
        let progress = ProgressPrinter(enabled: !quiet)
        do {
            let builder = try ImageBuilder(state: StateDirectory.resolve())
            let result = try builder.build(spec, progress: { progress.handle($0) })
            progress.summary(result.cacheHit ? "\(spec.name): cache hit \(result.entry.manifest.id.prefix(12))"
                                             : "\(spec.name): built \(result.entry.manifest.id.prefix(12))")
            return result
        } catch {
            // A step killed by Ctrl-C fails; report the interrupt, not the step's failure.
            if CleanupRegistry.shared.interrupted { throw CLIErrors.fail("building \(spec.name): \(BuildError.interrupted)", code: 130) }
            throw CLIErrors.fail("building \(spec.name): \(error)")
        }
    }
}

extension VSEBuildCommand {
    /// A spec file is built (or found in the cache); anything else names a cached image.
    static func resolveImage(_ reference: String, verbose: Bool) throws -> ImageEntry {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory), !isDirectory.boolValue {
            let spec = try CLIErrors.loadSpec(reference)
            return try VSEBuildCommand.build(spec, quiet: !verbose && isatty(2) != 1).entry
        }
        do {
            return try ImageStore(state: StateDirectory.resolve()).resolve(reference)
        } catch {
            throw CLIErrors.fail("\(error)")
        }
    }
}
