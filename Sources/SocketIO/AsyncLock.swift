import Synchronization

/// A FIFO mutual-exclusion lock for async code; waiting suspends the task instead of a thread.
///
/// Use as `try await lock.lock(); defer { lock.unlock() }`. A cancelled waiter leaves the queue
/// and throws `CancellationError` without ever holding the lock.
public final class AsyncLock: Sendable {
    private struct State {
        var isLocked = false
        var nextTicket: UInt64 = 0
        var waiters: [(ticket: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private enum Attempt { case acquired, cancelled, queued }

    private let state = Mutex(State())

    /// Creates an unlocked lock.
    public init() {}

    /// Waits until the lock is free and takes it; throws `CancellationError` if cancelled while waiting.
    public func lock() async throws {
        let acquiredImmediately = state.withLock { state in
            if state.isLocked { return false }
            state.isLocked = true
            return true
        }
        if acquiredImmediately { return }

        let ticket = state.withLock { state in
            state.nextTicket += 1
            return state.nextTicket
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Decide and enqueue under one lock acquisition so an unlock cannot slip in between.
                let attempt = state.withLock { state -> Attempt in
                    if Task.isCancelled { return .cancelled }
                    if !state.isLocked {
                        state.isLocked = true
                        return .acquired
                    }
                    state.waiters.append((ticket, continuation))
                    return .queued
                }
                switch attempt {
                case .acquired: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .queued: break
                }
            }
        } onCancel: {
            // If unlock() already handed us the lock, we are no longer queued and keep it.
            let continuation = state.withLock { state in
                state.waiters.firstIndex { $0.ticket == ticket }.map { state.waiters.remove(at: $0).continuation }
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// Releases the lock, handing it directly to the longest waiter if there is one.
    public func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            precondition(state.isLocked, "AsyncLock.unlock() without lock()")
            if state.waiters.isEmpty {
                state.isLocked = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
