/// Runs `body` but gives up after `timeout`: `onTimeout` runs (to stop whatever body waits on)
/// and nil is returned. Cancellation of the caller propagates to the body.
public func withDeadline<T: Sendable>(
    _ timeout: Duration,
    onTimeout: @escaping @Sendable () async -> Void = {},
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T? {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        guard let first = try await group.next() else { return nil }
        if first == nil { await onTimeout() }
        group.cancelAll()
        // Wait for the other task so nothing outlives this call.
        while let _ = try? await group.next() {}
        return first
    }
}
