/// How ``SSHLauncher`` runs the OpenSSH client. Every property has a default; set only what differs.
///
/// The client always runs with `BatchMode=yes` (never a password or passphrase prompt: a launch either
/// authenticates with keys/agent or fails at once) and a `ConnectTimeout`. Options from the command line
/// built here take precedence over the config file (OpenSSH uses the first value it obtains).
public struct SSHOptions: Sendable, Hashable {
    /// Where a child's output goes.
    public enum Output: Sendable, Hashable {
        /// The same descriptor as this process (stdout to stdout, stderr to stderr).
        case inherit
        /// Dropped.
        case discard
        /// Kept in memory; read it with ``SSHProcess/capturedOutput()`` / ``SSHProcess/capturedError()``.
        case capture
    }

    /// The environment variable naming an ssh config file used when ``configFile`` is nil.
    public static let configEnvironmentVariable = "VHPC_SSH_CONFIG"

    /// The OpenSSH client.
    public var sshExecutable: String = "/usr/bin/ssh"
    /// An ssh config file (`ssh -F`). Nil: `$VHPC_SSH_CONFIG` if set, else OpenSSH's own defaults.
    public var configFile: String? = nil
    /// A private key (`ssh -i`).
    public var identityFile: String? = nil
    /// A port (`ssh -p`); nil leaves it to the config file (or 22).
    public var port: Int? = nil
    /// A login name (`ssh -l`); nil leaves it to the config file (or the local user).
    public var user: String? = nil
    /// TCP connect timeout (`ConnectTimeout`, whole seconds, at least 1).
    public var connectTimeout: Duration = .seconds(10)
    /// How long ``SSHLauncher/launch(_:)`` waits for the remote command to start (connect, authenticate,
    /// check the program exists) before it kills the client and throws.
    public var startTimeout: Duration = .seconds(30)
    /// Client keep-alive (`ServerAliveInterval`, with `ServerAliveCountMax=3`): a vanished host ends the
    /// client, and so the launch, instead of hanging. Nil leaves it to the config file.
    public var serverAliveInterval: Duration? = .seconds(15)
    /// Extra `-o Key=Value` options, in order (e.g. `["StrictHostKeyChecking=accept-new"]`).
    public var extraOptions: [String] = []
    /// Where the remote process's stdout goes.
    public var standardOutput: Output = .inherit
    /// Where the remote process's stderr goes (after the launch has been confirmed; ssh's own messages
    /// before that are kept for the error reason).
    public var standardError: Output = .inherit
    /// Signal the ssh client gets if the thread-owning launcher process dies (`PR_SET_PDEATHSIG`); nil: none.
    /// Belt and braces: the launcher's death also closes the client's stdin (see ``SSHLauncher``).
    public var parentDeathSignal: Int32? = 15

    public init() {}

    /// The config file in effect: ``configFile``, else `$VHPC_SSH_CONFIG` from `environment` (if non-empty).
    public func effectiveConfigFile(environment: [String: String]) -> String? {
        if let configFile { return configFile }
        if let fromEnvironment = environment[Self.configEnvironmentVariable], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }
}
