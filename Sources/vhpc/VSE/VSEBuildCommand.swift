import ArgumentParser
import Foundation
import Logging
import V2M
import VSE

/// `vhpc vse build FILE`: build (or find in the cache) the image; prints its id. With `--snapshot`, also
/// saves a ready guest of it (V2M's `SnapshotBoot`) so `vhpc run --vse` VMs start from it at once.
struct VSEBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "build", abstract: "Build a VSE spec into a VM image; prints the image id.")

    @Argument(help: "The VSE spec (YAML).") var file: String
    @Flag(name: .shortAndLong, help: "No progress output.") var quiet = false
    @Flag(help: "Also boot the image once and save the ready guest, so `vhpc run --vse` VMs (default vCPUs and memory, the qemu plug-in) start from it; under libvirt a node's first VM saves one.")
    var snapshot = false

    func run() async throws {
        let spec = try CLIErrors.loadSpec(file)
        InterruptHandler.install()
        let result = try Self.build(spec, quiet: quiet)
        if snapshot {
            LoggingSetup.bootstrap(verbose: false)
            do {
                let entry = try await Self.prepareSnapshot(result.entry)
                if !quiet { FileHandle.standardError.write(Data("snapshot \(entry.directory) (device state \(entry.meta.stateBytes >> 10) KiB, RAM \(entry.meta.ramBytes >> 20) MiB)\n".utf8)) }
            } catch {
                throw CLIErrors.fail("saving a snapshot of \(spec.name): \(error)")
            }
        }
        print(result.entry.manifest.id)
    }

    /// Saves `image`'s snapshot for job VMs (the image's vCPUs and memory, one job-network NIC) into this
    /// machine's cache, where every node of a local job looks, unless it is there.
    static func prepareSnapshot(_ image: ImageEntry) async throws -> SnapshotStore.Entry {
        let state = StateDirectory.resolve()
        let logger = Logger(label: "vhpc.vse")
        let like = VMProfile(image: image, name: "like", runtimeDirectory: state.tmp + "/like", nics: [
            VMNIC(mac: "52:56:00:00:00:01", network: .unixDatagram(vmPath: state.tmp + "/like.vm", switchPath: state.tmp + "/like.sw"))])
        let verdict = await AcceleratorProbe(state: state).resolve(.auto, image: image, logger: logger)
        return try await SnapshotBoot(stores: [SnapshotStore(state: state)])
            .prepare(image: image, like: like, accelerator: verdict.accelerator, locator: ExecutableLocator(), logger: logger)
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
