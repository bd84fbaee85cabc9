/// Builds what ``SSHLauncher`` runs: the ssh client's argument vector and the remote shell command. Pure
/// functions of their inputs, so they are unit-tested without ssh.
///
/// The remote command is one string that the remote user's login shell (POSIX `sh`-compatible) parses. Every
/// word taken from a request is single-quoted, so no program name, argument or environment value is ever
/// interpreted by that shell. Its shape:
///
/// ```sh
/// [ -e '/bin/prog' ] || { printf '%s\n' 'vhpc: /bin/prog: command not found' >&2; exit 127; }
/// [ -x '/bin/prog' ] || { printf '%s\n' 'vhpc: /bin/prog: permission denied' >&2; exit 126; }
/// printf '%s\n' 'vhpc-ssh-started:TOKEN' >&2
/// exec env 'K=V' '/bin/prog' 'arg 1' 'arg2'
/// ```
///
/// The start marker tells the launcher that connection, authentication and the program check all passed, so
/// `launch` can fail with a precise reason instead of returning a handle to a client that is about to die.
/// Secrets never belong here (command lines are visible in `ps` on both machines): they go on stdin.
public enum SSHCommandLine {
    /// The prefix of the line the remote shell writes to stderr once the program is about to be exec'd.
    public static let startMarkerPrefix = "vhpc-ssh-started:"

    /// `word` quoted for a POSIX shell: inside single quotes, each `'` becomes `'\''`. Always quoted, even
    /// when nothing needs it, so the output is predictable.
    public static func quote(_ word: String) -> String {
        "'" + word.replacing("'", with: #"'\''"#) + "'"
    }

    /// Whether `name` is a portable environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
    public static func isValidEnvironmentName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func isLetter(_ c: Unicode.Scalar) -> Bool { ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" }
        guard isLetter(first) else { return false }
        return name.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) }
    }

    /// The request's command as a person would read it (for messages): program and arguments, quoted only
    /// where needed.
    public static func displayCommand(_ request: LaunchRequest) -> String {
        ([request.executable] + request.arguments).map { word in
            let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_./=:,+@%".unicodeScalars.contains($0)
            }
            return plain ? word : quote(word)
        }.joined(separator: " ")
    }

    /// The shell command the remote host runs for `request` (see the type's description).
    ///
    /// - Throws: `LaunchError` for an empty program, an invalid environment name, or a program containing `=`
    ///   together with an environment (`env` would read it as an assignment).
    public static func remoteCommand(for request: LaunchRequest, startMarker: String) throws(LaunchError) -> String {
        let program = request.executable
        func fail(_ reason: String) -> LaunchError {
            LaunchError(host: request.host, command: displayCommand(request), reason: reason)
        }
        guard !program.isEmpty else { throw fail("empty program name") }
        for name in request.environment.keys where !isValidEnvironmentName(name) {
            throw fail("invalid environment variable name \(quote(name))")
        }
        if !request.environment.isEmpty && program.contains("=") {
            throw fail("a program name containing '=' cannot be combined with an environment")
        }
        let quotedProgram = quote(program)
        var parts: [String] = []
        if program.hasPrefix("/") {
            parts.append("[ -e \(quotedProgram) ] || { printf '%s\\n' \(quote("vhpc: \(program): command not found")) >&2; exit 127; }")
            parts.append("[ -x \(quotedProgram) ] || { printf '%s\\n' \(quote("vhpc: \(program): permission denied")) >&2; exit 126; }")
        } else {
            parts.append("command -v \(quotedProgram) >/dev/null 2>&1 || { printf '%s\\n' \(quote("vhpc: \(program): command not found")) >&2; exit 127; }")
        }
        parts.append("printf '%s\\n' \(quote(startMarker)) >&2")
        var exec = ["exec"]
        if !request.environment.isEmpty {
            exec.append("env")
            exec += request.environment.sorted { $0.key < $1.key }.map { quote("\($0.key)=\($0.value)") }
        }
        exec.append(quotedProgram)
        exec += request.arguments.map(quote)
        parts.append(exec.joined(separator: " "))
        return parts.joined(separator: "; ")
    }

    /// The ssh client's arguments (without argv[0]) to run `remoteCommand` on `host`.
    public static func clientArguments(
        options: SSHOptions, configFile: String?, host: String, remoteCommand: String
    ) -> [String] {
        var arguments: [String] = []
        if let configFile { arguments += ["-F", configFile] }
        if let identity = options.identityFile { arguments += ["-i", identity] }
        if let port = options.port { arguments += ["-p", String(port)] }
        if let user = options.user { arguments += ["-l", user] }
        arguments += ["-o", "BatchMode=yes", "-o", "ConnectTimeout=\(wholeSeconds(options.connectTimeout))"]
        if let alive = options.serverAliveInterval {
            arguments += ["-o", "ServerAliveInterval=\(wholeSeconds(alive))", "-o", "ServerAliveCountMax=3"]
        }
        for option in options.extraOptions { arguments += ["-o", option] }
        // No tty (binary-safe stdin, no remote SIGHUP games), no escape character; `--` so a host can never be
        // read as an option.
        arguments += ["-T", "-e", "none", "--", host, remoteCommand]
        return arguments
    }

    /// A one-line reason from what ssh (or the remote shell) wrote to stderr before the start marker, and the
    /// client's exit status.
    public static func failureReason(standardError: String, exitStatus: Int32) -> String {
        let lines = standardError.split(whereSeparator: \.isNewline)
            .map(trimmed)
            .filter { !$0.isEmpty && !$0.hasPrefix("Warning: Permanently added") && !$0.hasPrefix(startMarkerPrefix) }
        let status = exitStatus > 128 && exitStatus != 255 ? "killed by signal \(exitStatus - 128)" : "exit \(exitStatus)"
        guard let last = lines.last else {
            return "ssh ended (\(status)) before the remote command started"
        }
        return "\(last) (\(status))"
    }

    static func wholeSeconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(seconds) + (attoseconds > 0 ? 1 : 0))
    }
}

private func trimmed(_ line: Substring) -> Substring {
    var line = line
    while let first = line.first, first == " " || first == "\t" { line.removeFirst() }
    while let last = line.last, last == " " || last == "\t" { line.removeLast() }
    return line
}
