import ArgumentParser
import VSE

/// `vhpc vse validate FILE`: report every problem of a spec as FILE:LINE:COLUMN: message.
struct VSEValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check a VSE spec and report every problem.")

    @Argument(help: "The VSE spec (YAML).") var file: String

    func run() throws {
        let spec = try CLIErrors.loadSpec(file)
        print("\(file): ok (name \(spec.name), base \(spec.base.specString), format \(spec.format.rawValue), spec hash \(spec.specHash.prefix(12)))")
    }
}
