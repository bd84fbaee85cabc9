import ArgumentParser
import Logging
import V2M

/// `vhpc vm migrate VM [--to URI]`: live migration to a new hypervisor process (qemu: on this host over
/// loopback TCP; libvirt: to the libvirtd the URI names).
struct VMMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Live-migrate a VM to a new process.")
    @Argument(help: "VM name.") var vm: String
    @Option(help: ArgumentHelp(
        "Destination. qemu: tcp:127.0.0.1:PORT (default: a free loopback port). "
            + "libvirt (required): the URI of the destination libvirtd.",
        discussion: "libvirt example: qemu+ssh://HOST/system, or a second daemon on this host from "
            + "`scripts/libvirtd-peer.sh start DIR`: qemu+unix:///system?socket=DIR/sock/libvirt-sock "
            + "(libvirt refuses a destination with the source's host UUID).",
        valueName: "URI")) var to: String?

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try VMSupport.load(vm)
            if let job = record.job {
                // The job's tool agent talks to the guest over this QEMU's virtio-serial socket; a migration
                // would cut the running task's output and exit status off from the job.
                throw CLIErrors.fail("\(vm) runs task \(record.rank ?? 0) of job \(job): a job's VM cannot be migrated yet (pause and resume can)")
            }
            let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
            let oldPID = handle.processID
            try await handle.migrate(to: to)
            try VMSupport.update(record, from: handle)
            print("\(vm) migrated: pid \(oldPID.map(String.init) ?? "-") → \(handle.processID.map(String.init) ?? "-")")
        } catch let error as ExitCode {
            throw error
        } catch {
            throw VMSupport.fail(error)
        }
    }
}
