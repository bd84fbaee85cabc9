import Synchronization
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

    /// The body ignores cancellation and only ends once the test releases it, after `withDeadline` has
    /// returned: the only way out is the deadline. No wall-clock bound (a loaded machine can starve the pool
    /// for many seconds); a hang is caught by the time limit.
    @Test(.timeLimit(.minutes(1))) func aBodyThatIgnoresCancellationStillTimesOut() async {
        let released = ReleaseFlag()
        await #expect(throws: Self.timeout) {
            try await withDeadline(.milliseconds(100), onTimeout: { Self.timeout }) { () async -> Int in
                while !released.isSet { try? await Task.sleep(for: .milliseconds(20)) }
                return 1
            }
        }
        released.set()
    }
}

/// A flag the test raises once the body may end.
final class ReleaseFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
