import GuestProtocol

/// What a plug-in does for one VM. Called only by `VirtualMachine`, which serializes operations and owns
/// the lifecycle state; a backend just performs I/O and reports the VM's end through `onExit`.
public protocol VMBackend: Sendable {
    /// Boots the VM and returns once the guest agent is ready (or, for backends without a guest channel,
    /// once the hypervisor reports it running). `onExit` must be called exactly once, when the VM's process
    /// ends for any reason after a successful start, with a reason in words.
    func start(onExit: @escaping @Sendable (String) -> Void) async throws -> GuestInfo?
    func pause() async throws
    func resume() async throws
    /// Graceful stop: returns true if the guest powered off within `timeout`; false if it had to be killed.
    func stop(timeout: Duration) async throws -> Bool
    /// Immediate stop.
    func kill() async
    /// Live migration to a new hypervisor process (`target` is plug-in-specific: for qemu nil or a
    /// `tcp:127.0.0.1:PORT` on this host, for libvirt the destination libvirtd's URI).
    func migrate(to target: String?) async throws
    /// The guest agent's liveness counter.
    func guestStatus() async throws -> GuestStatus
    /// Runs a command in the guest through its agent.
    func exec(_ command: GuestCommand,
              onOutput: @escaping @Sendable (GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> Int32
    /// What the hypervisor itself says about the VM now (`running`, `paused`, …), asked of it rather than
    /// remembered: another process may have paused it. nil when the hypervisor does not answer or cannot say.
    func observedRunState() async -> VMState?
    /// The hypervisor process id, when there is one (for records and tests).
    var processID: Int32? { get }
    /// Where the running VM lives (process, sockets, log), for records; nil when not running.
    var runtime: VMRuntimeInfo? { get }
    /// Removes what the VM left (overlay, sockets); called after it ended.
    func cleanup() async
}

/// Where a running VM lives: enough for another process to find and control it.
public struct VMRuntimeInfo: Sendable, Equatable, Codable {
    public var pid: Int32?
    public var qmpSocket: String?
    public var guestSocket: String?
    public var consoleLog: String?
    /// libvirt domain name, for the libvirt plug-in.
    public var domain: String?
    /// URI of the libvirtd running the domain (changes with a migration); nil in records written before
    /// migration existed, meaning the plug-in's default URI.
    public var libvirtURI: String?

    public init(pid: Int32? = nil, qmpSocket: String? = nil, guestSocket: String? = nil, consoleLog: String? = nil,
                domain: String? = nil, libvirtURI: String? = nil) {
        self.pid = pid
        self.qmpSocket = qmpSocket
        self.guestSocket = guestSocket
        self.consoleLog = consoleLog
        self.domain = domain
        self.libvirtURI = libvirtURI
    }
}

extension VMBackend {
    public var runtime: VMRuntimeInfo? { nil }
    public func observedRunState() async -> VMState? { nil }
}
