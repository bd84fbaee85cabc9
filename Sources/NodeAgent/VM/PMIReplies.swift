import Synchronization

/// Where each local rank's PMI replies go: the reply function of its VM's guest channel, known from the
/// rank's first PMI bytes.
final class PMIReplies: Sendable {
    private let table = Mutex<[Int: @Sendable ([UInt8]) -> Void]>([:])

    func register(_ reply: @escaping @Sendable ([UInt8]) -> Void, for rank: Int) {
        table.withLock { $0[rank] = reply }
    }

    func send(_ bytes: [UInt8], to rank: Int) {
        table.withLock { $0[rank] }?(bytes)
    }
}
