import ArgumentParser

/// `vhpc vm …`: start, list, inspect, pause, resume, stop, migrate VMs and run commands in them.
struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm", abstract: "Start, pause, resume, stop and migrate VMs.",
        subcommands: [VMStartCommand.self, VMListCommand.self, VMStatusCommand.self, VMPauseCommand.self,
                      VMResumeCommand.self, VMStopCommand.self, VMMigrateCommand.self, VMExecCommand.self])
}
