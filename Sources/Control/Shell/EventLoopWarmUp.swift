import Dispatch
import NIOPosix

/// The event loop threads every front-end and agent process runs its listeners, links and timers on
/// (`MultiThreadedEventLoopGroup.singleton`), started ahead of need on another thread: while `vhpc run`
/// parses its command line, while an agent waits for its configuration on stdin. Creating them (two threads
/// and their first uses) then happens beside that work, not after it on the way to the first task.
public enum EventLoopWarmUp {
    public static func start() {
        DispatchQueue.global().async { _ = MultiThreadedEventLoopGroup.singleton }
    }
}
