import ArgumentParser
import Foundation
import GuestProtocol
import Logging
import V2M
import VSE

/// `vhpc vse boot FILE|NAME|ID -- CMD`: boot the image, run CMD in the guest, print its output, exit
/// with its status, shut the VM down.
struct VSEBootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "boot",
        abstract: "Boot an image, run a command in the guest and shut the VM down.",
        discussion: "A spec file is built first (or found in the cache). Exits with the command's status.")

    @Argument(help: "A VSE spec file, or a cached image's name or id.") var image: String
    @Option(help: ArgumentHelp("How long to wait for the guest to be ready, e.g. 60s, 1m.", valueName: "DURATION")) var timeout = DurationArgument("60s")
    @Option(help: "Accelerator: auto (probe KVM, else TCG), kvm or tcg.") var accel: AcceleratorChoice = .auto
    @OptionGroup var shape: VMShapeOptions
    @Flag(name: .shortAndLong, help: "Log what happens.") var verbose = false
    @Argument(parsing: .postTerminator, help: "The command to run in the guest.") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("missing the command to run: vhpc vse boot IMAGE -- CMD [ARGS...]") }
        if timeout.duration <= .zero { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: verbose)
        InterruptHandler.install()
        let entry = try VSEBuildCommand.resolveImage(image, verbose: verbose)
        var options = QuickBoot.Options()
        options.vcpus = shape.vcpus
        options.memoryBytes = shape.memoryBytes
        options.stdin = StdinForwarder.stream()
        let result: QuickBootResult
        do {
            result = try await QuickBoot.run(
                image: entry, argv: command, timeout: timeout.duration, accelerator: accel,
                options: options,
                onOutput: { stream, bytes in
                    (stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError).write(Data(bytes))
                },
                logger: Logger(label: "vhpc.vse.boot"))
        } catch {
            throw CLIErrors.fail("booting \(entry.manifest.name): \(error)")
        }
        if verbose || isatty(2) == 1 {
            CLIErrors.printError(String(format: "vhpc: %@ booted under %@ (%@) in %.2f s; exit status %d",
                                        entry.manifest.name, "\(result.accelerator)", result.acceleratorReason,
                                        result.bootDuration.seconds, result.exitStatus))
        }
        if result.exitStatus != 0 { throw ExitCode(result.exitStatus) }
    }
}

