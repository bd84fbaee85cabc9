import ArgumentParser
import V2M

/// `vhpc vm pause VM`.
struct VMPauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Pause a running VM.")
    @Argument(help: "VM name.") var vm: String

    func run() async throws {
        try await VMSupport.operate(on: vm) { try await $0.pause() }
    }
}

/// `vhpc vm resume VM`.
struct VMResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Resume a paused VM.")
    @Argument(help: "VM name.") var vm: String

    func run() async throws {
        try await VMSupport.operate(on: vm) { try await $0.resume() }
    }
}
