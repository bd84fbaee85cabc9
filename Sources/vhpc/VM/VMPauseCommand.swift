import ArgumentParser
import Logging
import V2M

/// `vhpc vm pause VM`.
struct VMPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause a running VM.")
    @Argument(help: "VM name.") var vm: String

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try VMSupport.load(vm)
            let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
            try await handle.pause()
            try VMSupport.update(record, from: handle)
        } catch {
            throw VMSupport.fail(error)
        }
    }
}

/// `vhpc vm resume VM`.
struct VMResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused VM.")
    @Argument(help: "VM name.") var vm: String

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        do {
            let record = try VMSupport.load(vm)
            let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
            try await handle.resume()
            try VMSupport.update(record, from: handle)
        } catch {
            throw VMSupport.fail(error)
        }
    }
}
