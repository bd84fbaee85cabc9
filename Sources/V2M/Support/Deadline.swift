import Synchronization

/// Runs `body`, failing with `onTimeout()` if it takes longer than `timeout`.
///
/// Returns at the deadline even when `body` does not react to cancellation (a structured task group
/// would wait for it forever — an unanswered QMP command or a guest that never replies must not hang
/// the caller). The body is cancelled and left to finish on its own; its late result is dropped.
func withDeadline<T: Sendable>(_ timeout: Duration, onTimeout: @escaping @Sendable () -> V2MError,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let race = FirstResult<T>()
    let work = Task {
        do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
    }
    let timer = Task {
        try? await Task.sleep(for: timeout)
        if !Task.isCancelled { race.finish(.failure(onTimeout())) }
    }
    defer {
        work.cancel()
        timer.cancel()
    }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { race.install($0) }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// A one-shot rendezvous: the first `finish` wins; the waiting continuation is resumed exactly once,
/// whether it is installed before or after that first result.
private final class FirstResult<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
    }
    private let state = Mutex(State())

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let ready: Result<T, any Error>? = state.withLock { s in
            if let result = s.result { return result }
            s.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(with: ready) }
    }

    func finish(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { s in
            guard s.result == nil else { return nil }
            s.result = result
            defer { s.continuation = nil }
            return s.continuation
        }
        waiter?.resume(with: result)
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
