import ArgumentParser
import Logging
import V2M

/// `vhpc vm migrate VM [--to URI]`: live migration to a new hypervisor process on this host.
struct VMMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Live-migrate a VM to a new process.")
    @Argument(help: "VM name.") var vm: String
    @Option(help: "Destination, e.g. tcp:127.0.0.1:4444 (default: a free loopback port).") var to: String?

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try VMSupport.load(vm)
            let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
            let oldPID = handle.processID
            try await handle.migrate(to: to)
            try VMSupport.update(record, from: handle)
            print("\(vm) migrated: pid \(oldPID.map(String.init) ?? "-") → \(handle.processID.map(String.init) ?? "-")")
        } catch {
            throw VMSupport.fail(error)
        }
    }
}
