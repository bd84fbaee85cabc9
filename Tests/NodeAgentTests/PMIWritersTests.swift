import Foundation
import Testing
@testable import NodeAgent
#if canImport(Glibc)
import Glibc
#endif

/// PMI replies are written from an event loop: a task that does not read its socket must not block the
/// writer, and what it misses arrives later in order.
@Suite struct PMIWritersTests {
    @Test func aTaskThatDoesNotReadNeverBlocksTheWriterAndGetsEveryByteInOrder() async throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let writers = PMIWriters()
        writers.add(fds[0], for: 3)
        // Far more than a socket buffer holds, in replies of 1 KiB, with nobody reading.
        let replies = (0..<2_000).map { index in Array(String(format: "cmd=get_result rc=0 value=%06d ", index).utf8) + [UInt8](repeating: 0x61, count: 990) + [0x0a] }
        let clock = ContinuousClock()
        let took = clock.measure { for reply in replies { writers.write(reply, to: 3) } }
        #expect(took < .seconds(5))  // would be forever if a write waited for the reader
        #expect(writers.isBacklogged(3))
        writers.write([], to: 9)  // an unknown rank is ignored
        // The task reads now: everything, in order.
        let expected = replies.flatMap { $0 }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while received.count < expected.count {
            let count = chunk.withUnsafeMutableBytes { read(fds[1], $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            received += chunk[0..<count]
        }
        #expect(received == expected)
        writers.close(3)
        close(fds[1])
    }

    @Test func aClosedConnectionDropsItsBacklog() async throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        let writers = PMIWriters()
        writers.add(fds[0], for: 0)
        for _ in 0..<1_000 { writers.write([UInt8](repeating: 0x62, count: 1_000), to: 0) }
        close(fds[1])  // the task died
        writers.write(Array("cmd=barrier_out\n".utf8), to: 0)
        var waited = 0
        while writers.isBacklogged(0), waited < 100 {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(!writers.isBacklogged(0))
        writers.close(0)
    }
}
