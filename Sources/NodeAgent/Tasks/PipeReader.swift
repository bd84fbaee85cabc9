import Control
import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Reads a task's pipe (or socket) to its end on an event loop, handing whole-line chunks to `deliver` and
/// calling it once more with `endOfStream` = true.
///
/// A task's three streams cost three epoll registrations, not three threads: at 64 tasks per agent process a
/// thread per stream was 192 thread starts (and 64 KiB read buffers) per launch.
struct PipeReader: Sendable {
    let fd: Int32
    var group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// Reads until EOF; returns when done. The descriptor is closed.
    func run(_ deliver: @escaping @Sendable (ByteBuffer, Bool) -> Void) async {
        let finished = group.next().makePromise(of: Void.self)
        let taken = NIOPipeBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(LineForwarder(deliver: deliver, finished: finished))
                }
            }
            .takingOwnershipOfDescriptor(input: fd)
        do {
            _ = try await taken.get()
        } catch ChannelError.operationUnsupported {
            // Not something an event loop can watch (a regular file): still ours, read on a thread.
            finished.succeed()
            await runOnThread(deliver)
            return
        } catch {
            // NIO has closed the descriptor: the stream ends here.
            finished.succeed()
            deliver(ByteBuffer(), true)
            return
        }
        try? await finished.futureResult.get()
    }

    /// Blocking reads on a thread of its own.
    private func runOnThread(_ deliver: @escaping @Sendable (ByteBuffer, Bool) -> Void) async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let thread = Thread {
                var framer = LineFramer()
                var chunk = [UInt8](repeating: 0, count: 65_536)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    if let lines = framer.append(ByteBuffer(bytes: chunk[0..<count])) { deliver(lines, false) }
                }
                close(fd)
                deliver(framer.flush() ?? ByteBuffer(), true)
                done.resume()
            }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }
}

/// Frames a pipe's bytes into whole lines and reports its end once (event-loop confined).
private final class LineForwarder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var framer = LineFramer()
    private let deliver: @Sendable (ByteBuffer, Bool) -> Void
    private let finished: EventLoopPromise<Void>
    private var isDone = false

    init(deliver: @escaping @Sendable (ByteBuffer, Bool) -> Void, finished: EventLoopPromise<Void>) {
        self.deliver = deliver
        self.finished = finished
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let lines = framer.append(unwrapInboundIn(data)) { deliver(lines, false) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)  // a read error ends the stream, as EOF does
    }

    private func end() {
        guard !isDone else { return }
        isDone = true
        deliver(framer.flush() ?? ByteBuffer(), true)
        finished.succeed()
    }
}
