import Testing
import Topology

@testable import Control

/// The simulator's calendar queue against a plain sorted list: events leave by time, ties in scheduling order,
/// whether they wait in the current bucket, the wheel or beyond it; the event announced as upcoming is the
/// next to leave.
@Suite struct EventQueueTests {
    typealias Entry = SimulatedCluster.Scheduled

    /// Runs `steps` random inserts and removals (each insert at or after the last event removed, as the
    /// simulator schedules) and checks every removal against the reference.
    /// Returns how many removals left the next event at hand (``EventQueue/upcoming`` checked).
    @discardableResult
    func check(seed: UInt64, steps: Int, spread: () -> Duration) -> Int {
        var random = SplitMix64(seed: seed)
        var queue = EventQueue()
        var reference: [Entry] = []
        var now = Duration.zero
        var order = 0
        var announced = 0
        for _ in 0..<steps {
            if random.next() % 3 != 0 || reference.isEmpty {
                order += 1
                let entry = Entry(time: now + spread() * (Double(random.next() % 1000) / 1000), order: order, rank: 0, slot: Int32(order))
                queue.insert(entry)
                reference.append(entry)
                #expect(queue.count == reference.count)
            } else {
                let expected = reference.min()!
                reference.remove(at: reference.firstIndex(of: expected)!)
                let taken = queue.removeMin()
                #expect(taken?.order == expected.order)
                // What the simulator prefetches, when at hand, is what leaves next.
                if let upcoming = queue.upcoming {
                    #expect(upcoming.order == reference.min()?.order)
                    announced += 1
                }
                // Its guess otherwise is an event still waiting.
                if let guess = queue.likelyNext { #expect(reference.contains { $0.order == guess.order }) }
                now = expected.time
            }
        }
        for expected in reference.sorted() { #expect(queue.removeMin()?.order == expected.order) }
        #expect(queue.isEmpty && queue.removeMin() == nil)
        return announced
    }

    @Test func eventsWithinAMicrosecondLeaveInTimeAndSchedulingOrder() {
        let announced = check(seed: 1, steps: 5_000) { .nanoseconds(700) }
        #expect(announced > 0, "no removal left its successor at hand: the upcoming event was never checked")
    }

    @Test func eventsAcrossTheWheelLeaveInOrder() {
        check(seed: 2, steps: 5_000) { .milliseconds(300) }
    }

    @Test func eventsBeyondTheWheelComeBackInOrder() {
        // Up to 5 s ahead: the wheel spans about one; later events wait in the far heap.
        var random = SplitMix64(seed: 9)
        check(seed: 3, steps: 5_000) { random.next() % 2 == 0 ? .microseconds(3) : .seconds(5) }
    }

    /// A scenario stopped at a deadline schedules many events at the instant it stopped at, behind the
    /// bucket the queue has moved on to (the rerouting run's reports from every survivor): they leave in
    /// scheduling order, interleaved by time with the others.
    @Test func manyEventsScheduledAtTheInstantStoppedAtLeaveInOrder() {
        var queue = EventQueue()
        queue.insert(Entry(time: .milliseconds(2000), order: 0, rank: 0, slot: 0))
        queue.insert(Entry(time: .milliseconds(1000), order: 1, rank: 0, slot: 0))
        #expect(queue.removeMin(notAfter: .milliseconds(1500))?.order == 1)
        #expect(queue.removeMin(notAfter: .milliseconds(1500)) == nil)
        var expected: [Entry] = [Entry(time: .milliseconds(2000), order: 0, rank: 0, slot: 0)]
        for order in 2..<20_002 {
            // Most at one instant, some a little later, a few earlier still.
            let time: Duration = order % 7 == 0 ? .nanoseconds(1_500_000_300) : order % 101 == 0 ? .nanoseconds(1_499_999_900) : .milliseconds(1500)
            let entry = Entry(time: time, order: order, rank: 0, slot: 0)
            queue.insert(entry)
            expected.append(entry)
            if order % 1000 == 0 {
                // Take a few meanwhile (the earliest first).
                expected.sort()
                for _ in 0..<3 { #expect(queue.removeMin()?.order == expected.removeFirst().order) }
            }
        }
        expected.sort()
        var taken: [Int] = []
        while let next = queue.removeMin() { taken.append(next.order) }
        #expect(taken == expected.map(\.order))
    }

    @Test func aDeadlineLeavesLaterEventsQueued() {
        var queue = EventQueue()
        for (order, time) in [Duration.seconds(3), .milliseconds(1), .seconds(1), .milliseconds(2)].enumerated() {
            queue.insert(Entry(time: time, order: order, rank: 0, slot: 0))
        }
        var taken: [Duration] = []
        while let next = queue.removeMin(notAfter: .seconds(1)) { taken.append(next.time) }
        #expect(taken == [.milliseconds(1), .milliseconds(2), .seconds(1)])
        #expect(queue.count == 1)
        // An event scheduled before the one left (as a scenario schedules at the time it stopped at).
        queue.insert(Entry(time: .milliseconds(1500), order: 9, rank: 0, slot: 0))
        #expect(queue.removeMin()?.time == .milliseconds(1500))
        #expect(queue.removeMin()?.time == .seconds(3))
        #expect(queue.isEmpty)
    }
}
