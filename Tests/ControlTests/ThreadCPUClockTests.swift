import CControlSupport
import Foundation
import Testing

@testable import Control

/// The scale simulator's thread-CPU clock (`vhpc_thread_cpu_ns`: the time-stamp counter between system-call
/// readings while the thread is not switched) against the system call it stands in for.
@Suite struct ThreadCPUClockTests {
    /// CPU time of this thread as the system call gives it.
    static func systemCall() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    @Test func eventsMeasuredOneByOneAddUpToTheThreadsCPU() {
        // Many short pieces of work, each measured as the simulator measures an event; other load on the host
        // preempts some of them (those fall back to the system call), so the sum must still be CPU, not wall.
        var sink: UInt64 = 0
        var measured = Duration.zero
        let before = Self.systemCall()
        for round in 0..<5_000 {
            var lap = SimulatedCluster.CPULap(.measured)
            // Microseconds of work a piece: where perf events are not allowed each reading is a system call.
            for index in 0..<(2_000 + round % 7 * 1_000) { sink = sink &* 6364136223846793005 &+ UInt64(index) }
            measured += lap.next()
        }
        let total = Self.systemCall() - before
        #expect(sink != 1)
        #expect(measured <= total * 1.01 + .milliseconds(1), "sum \(measured), thread CPU \(total)")
        // The readings themselves (two per piece) are the only CPU outside the pieces.
        #expect(measured >= total * 0.6, "sum \(measured), thread CPU \(total), counter: \(vhpc_thread_cpu_clock_is_fast() != 0)")
    }

    @Test func readingsFollowTheSystemCallAndNeverGoBack() {
        var last = SimulatedCluster.threadCPUTime()
        let start = Self.systemCall()
        var sink: UInt64 = 0
        for _ in 0..<50_000 {
            for index in 0..<50 { sink = sink &+ UInt64(index) &* 31 }
            let now = SimulatedCluster.threadCPUTime()
            #expect(now >= last, "\(now) after \(last)")
            last = now
        }
        let end = Self.systemCall()
        #expect(sink != 1)
        // A counter reading runs ahead of the system call by the time the hypervisor stole since the last
        // system-call reading (at most the resync period) plus the counter's rate error.
        let bound = Duration.nanoseconds(Int64(VHPC_THREAD_CPU_RESYNC_NS)) + .microseconds(20)
        #expect(last >= start - .microseconds(20) && last <= end + bound, "\(start) \(last) \(end)")
    }
}
