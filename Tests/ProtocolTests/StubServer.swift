import SocketIO
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Scripted peer for protocol tests: a Unix socket listener in a fresh short directory under /tmp.
final class StubServer: Sendable {
    let directory: String
    let path: String
    private let listener: Int32

    /// Every scripted read is bounded, so a misbehaving client fails the test instead of hanging it.
    static let ioTimeout = Duration.seconds(2)

    init() throws {
        // Short on purpose: sockaddr_un paths are limited to 107 bytes.
        var template = Array("/tmp/hm-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw SocketError.systemCallFailed("mkdtemp", errno: errno) }
        directory = String(cString: created)
        path = directory + "/s"

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SocketError.systemCallFailed("socket", errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: pathBytes) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 4) == 0 else {
            let code = errno
            close(fd)
            throw SocketError.systemCallFailed("bind/listen", errno: code)
        }
        listener = fd
    }

    deinit {
        close(listener)
        unlink(path)
        rmdir(directory)
    }

    /// Accepts one connection, runs `script` on it, then closes it (the client sees end of stream).
    func serve(_ script: (StubConnection) async throws -> Void) async throws {
        let connection = try await accept()
        defer { connection.close() }
        try await script(connection)
    }

    /// Waits for the next client connection and returns its descriptor (blocking), for handing to a child process.
    func acceptDescriptor() async throws -> Int32 {
        let deadline = ContinuousClock.now + Self.ioTimeout
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 { return fd }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw SocketError.systemCallFailed("accept", errno: errno)
            }
            guard ContinuousClock.now < deadline else { throw SocketError.timeout }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Waits for the next client connection.
    func accept() async throws -> StubConnection {
        let deadline = ContinuousClock.now + Self.ioTimeout
        while true {
            let fd = Glibc.accept(listener, nil, nil)
            if fd >= 0 { return StubConnection(socket: try UnixSocket(adoptingDescriptor: fd)) }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw SocketError.systemCallFailed("accept", errno: errno)
            }
            guard ContinuousClock.now < deadline else { throw SocketError.timeout }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// The server side of one connection, with line-oriented helpers for scripting.
actor StubConnection {
    private let socket: UnixSocket
    private var lines = LineBuffer()

    init(socket: UnixSocket) {
        self.socket = socket
    }

    nonisolated func close() {
        socket.close()
    }

    func send(_ bytes: [UInt8]) async throws {
        try await socket.write(bytes, deadline: .now + StubServer.ioTimeout)
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends `value` as one JSON line ("\r\n" like QEMU's monitor).
    func sendJSON(_ value: JSONValue) async throws {
        try await send(value.serialized() + Array("\r\n".utf8))
    }

    /// The next line, or nil once the client closed the connection.
    func readLineOrEOF() async throws -> [UInt8]? {
        while true {
            if let line = try lines.nextLine() { return line }
            let chunk = try await socket.read(deadline: .now + StubServer.ioTimeout)
            if chunk.isEmpty { return nil }
            lines.append(chunk)
        }
    }

    func readLine() async throws -> [UInt8] {
        guard let line = try await readLineOrEOF() else { throw SocketError.disconnected }
        return line
    }

    func readJSON() async throws -> JSONValue {
        try JSONValue.parse(try await readLine())
    }

    /// Sends `chunk` over and over without pause, as a hostile guest would, until the client stops
    /// reading (its close makes a write fail) or `limit` has passed; returns how long it flooded.
    /// The time limit only keeps a test that fails from hanging.
    @discardableResult
    func flood(_ chunk: [UInt8], atMost limit: Duration = .seconds(8)) async -> Duration {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            do {
                try await socket.write(chunk, deadline: .now + .milliseconds(500))
            } catch {
                break
            }
        }
        return ContinuousClock.now - start
    }

    /// Waits until the client closes its end, discarding anything it still sends.
    func waitForClose() async throws {
        while try await readLineOrEOF() != nil {}
    }

    // MARK: QMP

    static let greeting =
        #"{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}}"#

    /// Sends the greeting and answers `qmp_capabilities`, checking the client sent it with an id.
    func qmpHandshake() async throws {
        try await send(Self.greeting + "\r\n")
        let negotiation = try await readJSON()
        #expect(negotiation["execute"] == "qmp_capabilities")
        #expect(negotiation["id"]?.stringValue != nil)
        try await sendJSON(["return": [:], "id": negotiation["id"] ?? .null])
    }

    // MARK: Guest agent

    /// Reads "0xFF + guest-sync-delimited" and returns the id the client chose.
    func expectSync() async throws -> Int {
        let line = try await readLine()
        #expect(line.first == 0xFF, "sync must start with the 0xFF flush byte")
        let request = try JSONValue.parse(Array(line.drop { $0 == 0xFF }))
        #expect(request["execute"] == "guest-sync-delimited")
        return try #require(request["arguments"]?["id"]?.intValue)
    }

    /// Sends the delimited sync reply.
    func replySync(_ id: Int) async throws {
        try await send([0xFF] + Array(#"{"return": \#(id)}"#.utf8) + [0x0A])
    }

    /// Performs a normal synchronisation.
    func agentSync() async throws {
        try await replySync(try await expectSync())
    }

    /// Reads one request, checks its command name and returns its arguments (empty object if none).
    func expectCommand(_ name: String) async throws -> JSONValue {
        let request = try await readJSON()
        #expect(request["execute"]?.stringValue == name)
        return request["arguments"] ?? [:]
    }

    /// Sends `{"return": value}`.
    func reply(_ value: JSONValue) async throws {
        try await send(JSONValue.object(["return": value]).serialized() + [0x0A])
    }

    /// Sends `{"error": {"class": …, "desc": …}}`.
    func replyError(class errorClass: String, desc: String) async throws {
        try await send(JSONValue.object(["error": ["class": .string(errorClass), "desc": .string(desc)]]).serialized() + [0x0A])
    }
}
