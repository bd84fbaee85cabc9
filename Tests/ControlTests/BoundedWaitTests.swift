import NIOCore
import NIOPosix
import Testing

@testable import Control

/// `EventLoopFuture.completes(within:)`: an agent's exit waits for its links' last writes, bounded. A write
/// that never completes (a stopped peer's full socket buffer) must not hold the exit: racing `get()` in a
/// task group did (`get()` ignores cancellation).
@Suite struct BoundedWaitTests {
    @Test func aFutureThatNeverCompletesIsGivenUpAtTheLimit() async {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let never = loop.makePromise(of: Void.self)
        #expect(await never.futureResult.completes(within: .milliseconds(50)) == false)
        never.succeed()  // a promise must not be leaked uncompleted
    }

    @Test func aCompletedOrFailedFutureCounts() async {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        #expect(await loop.makeSucceededVoidFuture().completes(within: .seconds(60)))
        struct Broken: Error {}
        #expect(await loop.makeFailedFuture(Broken()).map { () }.completes(within: .seconds(60)))
        let later = loop.makePromise(of: Void.self)
        loop.scheduleTask(in: .milliseconds(10)) { later.succeed() }
        #expect(await later.futureResult.completes(within: .seconds(60)))
    }
}
