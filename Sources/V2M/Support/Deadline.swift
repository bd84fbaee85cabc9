/// Runs `body`, failing with `onTimeout()` if it takes longer than `timeout` (the body is cancelled).
func withDeadline<T: Sendable>(_ timeout: Duration, onTimeout: @escaping @Sendable () -> V2MError,
                               _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw onTimeout()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
