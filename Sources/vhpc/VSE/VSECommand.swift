import ArgumentParser

/// `vhpc vse …`: build and manage Virtual System Environment images.
struct VSECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vse",
        abstract: "Build and manage Virtual System Environment images.",
        subcommands: [VSEValidateCommand.self, VSEBuildCommand.self, VSEListCommand.self, VSEInspectCommand.self,
                      VSERemoveCommand.self, VSEGarbageCommand.self, VSEBootCommand.self]
    )
}
