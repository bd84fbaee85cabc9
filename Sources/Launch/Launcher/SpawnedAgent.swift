/// A started agent process, as its spawner sees it.
public struct SpawnedAgent: Sendable {
    /// Local pid (the agent itself, or the ssh client standing for it).
    public var pid: Int32
    /// Waits for the process to exit; returns its status (128 + signal when killed).
    public var waitForExit: @Sendable () async -> Int32
    /// Signals the process (group).
    public var signal: @Sendable (Int32) -> Void
    /// For an agent something else reaps (a resident agent's, see `ResidentStepSpawner`): the front-end is done
    /// with it, after waiting up to the given time for it to exit (zero: not at all); it then gets a grace period
    /// to exit on its own. Nil for a process the spawner reaps itself.
    public var release: (@Sendable (Duration) async -> Void)?

    public init(pid: Int32, waitForExit: @escaping @Sendable () async -> Int32, signal: @escaping @Sendable (Int32) -> Void,
                release: (@Sendable (Duration) async -> Void)? = nil) {
        self.pid = pid
        self.waitForExit = waitForExit
        self.signal = signal
        self.release = release
    }
}
