import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock` on a file, shared by every Hallmark process on the host. The lock goes
/// with the descriptor, so a process that dies (even by SIGKILL) releases it.
public final class FileLock: Sendable {
    private let descriptor: Int32
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Takes the lock on `path` (created if missing), waiting while another process holds it.
    /// Polls rather than blocking in `flock`, so a waiting task neither ties up one of the few
    /// cooperative threads nor ignores cancellation; `waiting` is called once if it has to wait.
    public static func acquire(
        _ path: String, poll: Duration = .milliseconds(200),
        waiting: () -> Void = {}
    ) async throws -> FileLock {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw HallmarkError(.hostFailure, "cannot open the lock file \(path): \(String(cString: strerror(errno)))")
        }
        let lock = FileLock(descriptor: descriptor, path: path)
        var told = false
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw HallmarkError(.hostFailure, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
            if !told {
                waiting()
                told = true
            }
            try await Task.sleep(for: poll)
        }
        return lock
    }

    /// Releases the lock now rather than when the last reference goes.
    public func release() {
        flock(descriptor, LOCK_UN)
    }
}
