import Synchronization

/// Where each local rank's PMI replies go: the reply function of its VM's guest channel, known from the
/// rank's first PMI bytes.
final class PMIReplies: Sendable {
    private let table = Mutex<[Int: @Sendable ([UInt8]) -> Void]>([:])

    func register(_ reply: @escaping @Sendable ([UInt8]) -> Void, for rank: Int) {
        table.withLock { $0[rank] = reply }
    }

    func send(_ bytes: [UInt8], to rank: Int) {
        guard !bytes.isEmpty else { return }  // empty bytes close the connection (``close(_:)``)
        table.withLock { $0[rank] }?(bytes)
    }

    /// Ends `rank`'s PMI-1 connection: the guest agent closes the command's `PMI_FD` on empty bytes, and the
    /// client sees end-of-file (a barrier that can never complete, or a rank that broke the protocol).
    func close(_ rank: Int) {
        table.withLock { $0.removeValue(forKey: rank) }?([])
    }
}
