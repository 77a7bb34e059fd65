#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a Unix socket operation failed.
public enum SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path is empty or contains a NUL byte.
    case invalidPath(String)
    /// The path does not fit in `sockaddr_un` (limit excludes the terminating NUL).
    case pathTooLong(path: String, byteCount: Int, limit: Int)
    /// `connect(2)` failed, e.g. ENOENT (nobody listening) or ECONNREFUSED.
    case connectFailed(path: String, errno: Int32)
    /// Another system call failed.
    case systemCallFailed(String, errno: Int32)
    /// The deadline passed before the operation completed.
    case timeout
    /// The socket was closed on this side.
    case closed
    /// The peer went away while we were writing (EPIPE / ECONNRESET).
    case disconnected
    /// The peer sent a line longer than the reader accepts: a protocol error, not a slow peer.
    case lineTooLong(limit: Int)

    public var description: String {
        switch self {
        case .invalidPath(let path):
            return "invalid Unix socket path \"\(path)\" (empty or contains NUL)"
        case .pathTooLong(let path, let byteCount, let limit):
            return "Unix socket path is \(byteCount) bytes, limit is \(limit): \(path)"
        case .connectFailed(let path, let code):
            return "cannot connect to Unix socket \(path): \(errorText(code))"
        case .systemCallFailed(let call, let code):
            return "\(call) failed: \(errorText(code))"
        case .timeout:
            return "socket operation timed out"
        case .closed:
            return "socket is closed"
        case .disconnected:
            return "peer closed the connection"
        case .lineTooLong(let limit):
            return "peer sent a line longer than \(limit) bytes (protocol error)"
        }
    }
}

/// `strerror` text plus the symbolic number, e.g. "No such file or directory (errno 2)".
private func errorText(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}
