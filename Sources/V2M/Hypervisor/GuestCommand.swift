import GuestProtocol

/// A command to run in a guest through its agent: argv, environment, working directory, stdin and, for MPI
/// programs, the PMI-1 connection the guest agent gives it (see `GuestChannel.exec`).
public struct GuestCommand: Sendable {
    public var argv: [String]
    /// `KEY=VALUE` entries added to the guest agent's environment.
    public var environment: [String]
    public var workingDirectory: String
    /// What the command reads, then end-of-file; nil: end-of-file at once.
    public var stdin: AsyncStream<[UInt8]>?
    /// The command's PMI-1 traffic: its bytes, with a function that answers it (`PMI_RANK` must be in
    /// `environment`); nil: no PMI connection.
    public var onPMI: (@Sendable (_ bytes: [UInt8], _ reply: @escaping @Sendable ([UInt8]) -> Void) -> Void)?
    /// The command's PMIx connections (`PMIX_SERVER_URI*` must be in `environment`: the guest agent relays
    /// what connects to it on the guest's loopback): bytes of connection `connection` (empty: it closed),
    /// with a function that sends bytes back to a connection (empty: close it); nil: no PMIx relay.
    public var onPMIx: PMIxSink?

    public typealias PMIxReply = @Sendable (_ connection: UInt32, _ bytes: [UInt8]) -> Void
    public typealias PMIxSink = @Sendable (_ connection: UInt32, _ bytes: [UInt8], _ reply: @escaping PMIxReply) -> Void

    public init(_ argv: [String], environment: [String] = [], workingDirectory: String = "/",
                stdin: AsyncStream<[UInt8]>? = nil,
                onPMI: (@Sendable (_ bytes: [UInt8], _ reply: @escaping @Sendable ([UInt8]) -> Void) -> Void)? = nil,
                onPMIx: PMIxSink? = nil) {
        self.argv = argv
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.onPMI = onPMI
        self.onPMIx = onPMIx
    }
}

extension GuestChannel {
    /// Runs `command` in the guest (see ``exec(_:environment:workingDirectory:stdin:onOutput:onPMI:)``).
    public func run(_ command: GuestCommand,
                    onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32 {
        try await exec(command.argv, environment: command.environment, workingDirectory: command.workingDirectory,
                       stdin: command.stdin, onOutput: onOutput, onPMI: command.onPMI, onPMIx: command.onPMIx)
    }
}
