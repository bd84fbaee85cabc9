import HostProcess

/// What a short query command (`ssh -G`, `srun --version`, `scontrol show node`) prints on stdout: the one
/// way the launchers ask the host's tools (a ``HostCommand``). stdin is /dev/null.
enum CommandOutput {
    /// stdout of `executable arguments`; nil if it cannot start, or (with `requireSuccess`) exits non-zero.
    static func stdout(of executable: String, _ arguments: [String], requireSuccess: Bool = true) -> String? {
        guard let output = try? HostCommand(executable, arguments).runAllowingFailure(),
              !requireSuccess || output.status == 0 else { return nil }
        return output.stdoutText
    }
}
