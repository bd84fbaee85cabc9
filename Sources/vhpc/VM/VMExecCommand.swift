import ArgumentParser
import Foundation
import Logging
import V2M

/// `vhpc vm exec VM -- CMD`: run a command through the guest agent, our stdin as its stdin; exits with its status.
struct VMExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running VM.")
    @Argument(help: "VM name.") var vm: String
    @Argument(parsing: .postTerminator, help: "The command.") var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("missing the command: vhpc vm exec VM -- CMD [ARGS...]") }
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        let status: Int32
        do {
            let record = try VMSupport.load(vm)
            let handle = try VMSupport.handle(for: record, logger: Logger(label: "vhpc.vm"))
            status = try await handle.exec(command, stdin: StdinForwarder.stream(), onOutput: { stream, bytes in
                (stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError).write(Data(bytes))
            })
        } catch {
            throw VMSupport.fail(error)
        }
        if status != 0 { throw ExitCode(status) }
    }
}
