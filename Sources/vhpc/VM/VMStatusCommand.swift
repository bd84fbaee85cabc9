import ArgumentParser
import Foundation
import Logging
import V2M

/// `vhpc vm status VM`: state, process, and the guest agent's counter when running.
struct VMStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show one VM's state.")

    @Argument(help: "VM name.") var vm: String
    @Flag(help: "Print JSON (schema 1).") var json = false

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try VMSupport.load(vm)
            let state = await VMSupport.observedState(record)
            if state != record.recordedState { try? VMSupport.records.save({ var r = record; r.recordedState = state; return r }()) }
            if json {
                print(try JobHistoryAccess.json(VMListCommand.VMJSON(record, state: state)))
                return
            }
            print("name:       \(record.name)")
            print("state:      \(state)")
            print("hypervisor: \(record.hypervisor) (\(record.accelerator))")
            print("image:      \(record.profile.imageName) (\(record.profile.imageID.prefix(12)))")
            print("vcpus:      \(record.profile.vcpus)")
            print("memory:     \(record.profile.memoryMiB) MiB")
            if let pid = record.runtime?.pid { print("pid:        \(pid)") }
            if let console = record.runtime?.consoleLog { print("console:    \(console)") }
            if let uri = record.runtime?.libvirtURI { print("libvirtd:   \(uri)") }
            if state == .running {
                let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
                if let status = try? await handle.guestStatus() {
                    print("guest:      counter \(status.counter), up \(status.uptimeMilliseconds / 1000) s")
                }
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw VMSupport.fail(error)
        }
    }
}
