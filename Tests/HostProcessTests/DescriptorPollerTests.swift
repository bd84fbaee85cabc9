import Foundation
import Synchronization
import Testing
@testable import HostProcess

/// `DescriptorPoller`: every byte of many pipes arrives in order, and each end once; a regular file is refused (read some other way) and left open.
@Suite struct DescriptorPollerTests {
    /// What one watched descriptor gave, and a continuation resumed at its end.
    final class Sink: Sendable {
        let bytes = Mutex<[UInt8]>([])
        let ends = Mutex(0)
    }

    @Test(.timeLimit(.minutes(1))) func manyPipesAreReadToTheirEnd() async throws {
        let pipes = try (0..<40).map { _ in try ProcessSpawner.makePipe() }
        let sinks = pipes.map { _ in Sink() }
        await withTaskGroup(of: Void.self) { group in
            for (pipe, sink) in zip(pipes, sinks) {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                        let taken = DescriptorPoller.shared.watch(pipe.read) { chunk in
                            guard let chunk else {
                                sink.ends.withLock { $0 += 1 }
                                done.resume()
                                return
                            }
                            sink.bytes.withLock { $0 += Array(chunk) }
                        }
                        #expect(taken)
                    }
                }
            }
            // Written after the watches, more than one read's worth for some, then closed.
            for (index, pipe) in pipes.enumerated() {
                let payload = [UInt8](repeating: UInt8(index), count: index % 3 == 0 ? 200_000 : index)
                let writer = Thread {
                    payload.withUnsafeBytes { writeAll(pipe.write, $0) }
                    close(pipe.write)
                }
                writer.start()
            }
            await group.waitForAll()
        }
        for (index, sink) in sinks.enumerated() {
            let expected = [UInt8](repeating: UInt8(index), count: index % 3 == 0 ? 200_000 : index)
            #expect(sink.bytes.withLock { $0 } == expected, "pipe \(index)")
            #expect(sink.ends.withLock { $0 } == 1)
        }
    }

    @Test func aRegularFileIsRefusedAndLeftOpen() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("poller-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: path, contents: Data("x\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        #expect(!DescriptorPoller.shared.watch(fd) { _ in Issue.record("a refused descriptor is never read") })
        #expect(fcntl(fd, F_GETFL) & O_NONBLOCK == 0, "its flags are as they were")
        var byte: UInt8 = 0
        #expect(read(fd, &byte, 1) == 1 && byte == UInt8(ascii: "x"))
    }
}
