import ArgumentParser
import Logging
import V2M

/// `vhpc vm stop VM [--force] [--timeout S]`: graceful power-off (guest agent), killed after the timeout.
struct VMStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a VM and forget it.")
    @Argument(help: "VM name.") var vm: String
    @Flag(help: "Kill at once instead of asking the guest to power off.") var force = false
    @Option(help: "Seconds to wait for a graceful power-off.") var timeout: Double = 20

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try VMSupport.load(vm)
            let state = record.effectiveState
            let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
            if state.isActive {
                let graceful = try await handle.stop(timeout: .milliseconds(Int(timeout * 1000)), force: force)
                if !force && !graceful { CLIErrors.printError("vhpc: \(vm) did not power off within \(timeout) s; killed") }
            }
            try? await handle.discard()
            VMSupport.records.remove(vm)
            print("\(vm) stopped")
        } catch {
            throw VMSupport.fail(error)
        }
    }
}
