import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A connected Unix-domain stream socket with deadline-bounded, cancellable async I/O.
///
/// The descriptor is non-blocking and waiting happens with `Task.sleep` between attempts, so no
/// cooperative thread ever blocks in a system call.
public final class UnixSocket: Sendable {
    /// The descriptor, or -1 once closed. Every system call on it runs under this lock so that
    /// `close()` cannot race a read or write into a descriptor number the kernel has reused.
    private let descriptor: Mutex<Int32>
    /// Serialises `write` calls so that each call's bytes stay contiguous on the wire.
    private let writeLock = AsyncLock()

    /// Longest socket path in bytes that `sockaddr_un` can hold (107 on Linux).
    public static let maxPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// Bounds for the pause between attempts while waiting for readiness: short at first for
    /// latency, longer while idle so a quiet connection costs little CPU.
    private static let firstPause = Duration.microseconds(250)
    private static let longestPause = Duration.milliseconds(10)

    /// Connects to the Unix stream socket at `path`.
    public static func connect(path: String) throws(SocketError) -> UnixSocket {
        let pathBytes = Array(path.utf8)
        guard !pathBytes.isEmpty, !pathBytes.contains(0) else { throw .invalidPath(path) }
        guard pathBytes.count <= maxPathLength else {
            throw .pathTooLong(path: path, byteCount: pathBytes.count, limit: maxPathLength)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }

        let fd = systemSocket()
        guard fd >= 0 else { throw .systemCallFailed("socket", errno: errno) }
        // Connecting while still blocking: for a local socket this either succeeds or fails at
        // once, and it avoids the EINPROGRESS dance.
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            _ = systemClose(fd)
            throw .connectFailed(path: path, errno: code)
        }
        return try UnixSocket(adoptingDescriptor: fd)
    }

    /// Takes ownership of a connected stream socket descriptor (closing it if setup fails).
    public init(adoptingDescriptor fd: Int32) throws(SocketError) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            let code = errno
            _ = systemClose(fd)
            throw .systemCallFailed("fcntl(O_NONBLOCK)", errno: code)
        }
        #if canImport(Darwin)
            // Darwin has no MSG_NOSIGNAL; without this a write to a dead peer kills the process.
            var on: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #endif
        descriptor = Mutex(fd)
    }

    deinit {
        close()
    }

    /// Writes all of `bytes`, waiting for buffer space until `deadline` (nil: no deadline).
    ///
    /// If the write fails after part of the bytes went out (timeout, cancellation), the socket is
    /// closed, because a half-written message would corrupt the protocol stream for every later one.
    public func write(_ bytes: [UInt8], deadline: ContinuousClock.Instant? = nil) async throws {
        try await writeLock.lock()
        defer { writeLock.unlock() }

        var offset = 0
        var pause = Self.firstPause
        do {
            while offset < bytes.count {
                try Task.checkCancellation()
                // Checked on every pass, not only when the peer's buffer is full: a peer that
                // drains a few bytes at a time must not stretch the write past its deadline.
                if let deadline, ContinuousClock.now >= deadline { throw SocketError.timeout }
                let outcome = descriptor.withLock { fd -> IOOutcome in
                    guard fd >= 0 else { return .failed(.closed) }
                    let count = bytes.withUnsafeBytes {
                        systemSend(fd, $0.baseAddress! + offset, $0.count - offset)
                    }
                    return IOOutcome(count: count, errno: errno, reading: false)
                }
                switch outcome {
                case .transferred(let count):
                    offset += count
                    pause = Self.firstPause
                case .wouldBlock:
                    try await Self.pause(&pause, deadline: deadline)
                case .endOfStream:
                    throw SocketError.disconnected
                case .failed(let error):
                    throw error
                }
            }
        } catch {
            if offset > 0 { close() }
            throw error
        }
    }

    /// Returns the bytes available now (waiting until some arrive), or `[]` at end of stream.
    ///
    /// Throws `SocketError.timeout` once `deadline` has passed, even when data is waiting (a peer
    /// that never pauses must not keep a caller's read loop past its deadline),
    /// `SocketError.closed` after `close()`, and `CancellationError` when the task is cancelled.
    public func read(deadline: ContinuousClock.Instant, maxBytes: Int = 64 * 1024) async throws -> [UInt8] {
        precondition(maxBytes > 0, "maxBytes must be positive")
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        var pause = Self.firstPause
        var waited = false
        while true {
            try Task.checkCancellation()
            guard ContinuousClock.now < deadline else { throw SocketError.timeout }
            let outcome = descriptor.withLock { fd -> IOOutcome in
                guard fd >= 0 else { return .failed(.closed) }
                let count = buffer.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress!, $0.count) }
                return IOOutcome(count: count, errno: errno, reading: true)
            }
            switch outcome {
            case .transferred(let count):
                // A peer that never pauses would otherwise keep this cooperative thread from every other task.
                if !waited { await Task.yield() }
                return Array(buffer[..<count])
            case .endOfStream:
                return []
            case .wouldBlock:
                waited = true
                try await Self.pause(&pause, deadline: deadline)
            case .failed(let error):
                throw error
            }
        }
    }

    /// Closes the descriptor; safe to call more than once and while other tasks use the socket.
    public func close() {
        descriptor.withLock { fd in
            if fd >= 0 {
                _ = systemClose(fd)
                fd = -1
            }
        }
    }

    /// Sleeps for the current pause (never past `deadline`) and grows it; throws once the deadline passed.
    private static func pause(_ pause: inout Duration, deadline: ContinuousClock.Instant?) async throws {
        let now = ContinuousClock.now
        var wakeUp = now + pause
        if let deadline {
            guard now < deadline else { throw SocketError.timeout }
            wakeUp = min(wakeUp, deadline)
        }
        try await Task.sleep(until: wakeUp, clock: .continuous)
        pause = min(pause * 2, longestPause)
    }
}

/// The result of one non-blocking read or send attempt.
private enum IOOutcome {
    case transferred(Int)
    case wouldBlock
    case endOfStream
    case failed(SocketError)

    /// Classifies a system call result; `errno` is only meaningful when `count` is negative.
    init(count: Int, errno code: Int32, reading: Bool) {
        if count > 0 {
            self = .transferred(count)
        } else if count == 0 {
            self = .endOfStream
        } else if code == EAGAIN || code == EWOULDBLOCK || code == EINTR {
            self = .wouldBlock
        } else if code == EPIPE || code == ECONNRESET {
            // A vanished peer is an ordinary end of stream for a reader, and "disconnected" for a writer.
            self = reading ? .endOfStream : .failed(.disconnected)
        } else {
            self = .failed(.systemCallFailed(reading ? "read" : "send", errno: code))
        }
    }
}

// Thin wrappers: the class's own `connect`/`read`/`write`/`close` shadow the C functions.
#if canImport(Glibc)
    private func systemSocket() -> Int32 {
        // SOCK_CLOEXEC atomically, so a QEMU child forked by another thread never inherits the socket.
        Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }
    private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        Glibc.connect(fd, address, length)
    }
    private func systemSend(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        Glibc.send(fd, pointer, count, Int32(MSG_NOSIGNAL))
    }
    private func systemRead(_ fd: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        Glibc.read(fd, pointer, count)
    }
    private func systemClose(_ fd: Int32) -> Int32 { Glibc.close(fd) }
#elseif canImport(Darwin)
    private func systemSocket() -> Int32 {
        let fd = Darwin.socket(AF_UNIX, SOCK_STREAM, 0)
        if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return fd
    }
    private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        Darwin.connect(fd, address, length)
    }
    private func systemSend(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        Darwin.send(fd, pointer, count, 0)
    }
    private func systemRead(_ fd: Int32, _ pointer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        Darwin.read(fd, pointer, count)
    }
    private func systemClose(_ fd: Int32) -> Int32 { Darwin.close(fd) }
#endif
