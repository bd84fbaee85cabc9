extension RunCommand {
    /// Words that make the parser answer instead of running (help, version, completion scripts): a command
    /// line holding one anywhere goes through the root command, which answers them for every command alike.
    static let parserAnswered = ["-h", "--help", "-help", "--version", "--experimental-dump-help"]

    /// The arguments after `run` when `arguments` (those after `vhpc`) start a job and nothing in them asks
    /// the parser itself for an answer; nil otherwise (the root command parses them then).
    static func rootedArguments(_ arguments: [String]) -> [String]? {
        guard arguments.first == "run" else { return nil }
        let rest = arguments.dropFirst()
        if rest.contains(where: { parserAnswered.contains($0) || $0.hasPrefix("--generate-completion-script") }) { return nil }
        return Array(rest)
    }
}
