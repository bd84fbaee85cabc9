import Testing
@testable import V2M

/// `withDeadline`: the body's result when in time, the timeout error at the deadline even if the body
/// ignores cancellation.
@Suite struct DeadlineTests {
    static let timeout = V2MError.guestTimeout(vm: "t", operation: "op")

    @Test func aQuickBodyGivesItsResult() async throws {
        let value = try await withDeadline(.seconds(5), onTimeout: { Self.timeout }) { 42 }
        #expect(value == 42)
    }

    @Test func aBodyErrorIsTheError() async {
        await #expect(throws: V2MError.guestChannel(vm: "t", reason: "closed")) {
            try await withDeadline(.seconds(5), onTimeout: { Self.timeout }) { () async throws -> Int in
                throw V2MError.guestChannel(vm: "t", reason: "closed")
            }
        }
    }

    @Test func aBodyThatIgnoresCancellationStillTimesOutOnTime() async {
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: Self.timeout) {
            try await withDeadline(.milliseconds(100), onTimeout: { Self.timeout }) { () async -> Int in
                // Deaf to cancellation for 40 s (it goes on in the background after the test).
                let end = ContinuousClock.now + .seconds(40)
                while ContinuousClock.now < end { try? await Task.sleep(for: .milliseconds(20)) }
                return 1
            }
        }
        // Waiting for the body would take 40 s; the bound is loose because parallel tests share the pool (on
        // a loaded 2-core machine, CPU-bound suites held both pool threads for 11 s).
        #expect(clock.now - start < .seconds(25))
    }
}
