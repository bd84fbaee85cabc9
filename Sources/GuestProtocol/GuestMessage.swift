/// A message on the host <-> guest-agent channel (virtio-serial), carried by Wire (``GuestWireTranslator``).
///
/// The guest agent says `ready` once a host has authenticated, runs `exec` requests and streams their output back,
/// reports `status` (its 10 Hz liveness counter) and powers the VM off on `shutdown`.
/// Deliberately Foundation-free so the in-guest agent stays small.
public enum GuestMessage: Sendable, Equatable {
    /// guest → host: the agent is up.
    case ready(GuestInfo)
    /// host → guest: run a command. `environment` entries are `KEY=VALUE`, added to the VSE's environment.
    case exec(id: UInt32, argv: [String], environment: [String], workingDirectory: String)
    /// host → guest: bytes for the command's stdin; an empty payload closes it.
    case stdin(id: UInt32, bytes: [UInt8])
    /// host → guest: deliver a signal to a running command.
    case signal(id: UInt32, signal: Int32)
    /// guest → host: a chunk of the command's stdout or stderr.
    case output(id: UInt32, stream: OutputStream, bytes: [UInt8])
    /// guest → host: the command ended; `status` is its exit code, or 128 + signal number.
    case exited(id: UInt32, status: Int32)
    /// guest → host: the command could not be started.
    case execFailed(id: UInt32, reason: String)
    /// host → guest: ask for a status report.
    case statusRequest
    /// guest → host: liveness counter (incremented by the agent at 10 Hz) and uptime in milliseconds.
    case status(counter: UInt64, uptimeMilliseconds: UInt64)
    /// host → guest: sync and power off (or reboot) the VM.
    case shutdown(reboot: Bool)
    /// Either way: bytes of a command's PMI-1 connection (its `PMI_FD`, a socketpair the agent relays),
    /// for the PMI server in the host's tool agent; empty `bytes` from the host close the connection.
    case pmi(id: UInt32, bytes: [UInt8])
    /// Either way: bytes of one of a command's PMIx connections (`connection` numbers them per command), which
    /// the guest agent accepts on the guest's loopback and the tool agent carries on to the host's PMIx
    /// server; empty `bytes` close the connection.
    case pmix(id: UInt32, connection: UInt32, bytes: [UInt8])

    /// Which output stream a chunk came from.
    public enum OutputStream: UInt8, Sendable {
        case stdout = 1
        case stderr = 2
    }
}

/// What the guest agent reports when it is ready.
public struct GuestInfo: Sendable, Equatable {
    public var kernelRelease: String
    public var hostname: String
    public var vseName: String
    public var agentVersion: String
    public var counter: UInt64

    public init(kernelRelease: String, hostname: String, vseName: String, agentVersion: String, counter: UInt64) {
        self.kernelRelease = kernelRelease
        self.hostname = hostname
        self.vseName = vseName
        self.agentVersion = agentVersion
        self.counter = counter
    }
}
