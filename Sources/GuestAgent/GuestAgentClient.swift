import GuestChannel
import SocketIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A QEMU guest agent client: strictly one request and one reply at a time, resynchronised with
/// `guest-sync-delimited` on connect and after any exchange that was cut short.
public actor GuestAgentClient: GuestChannel {
    public nonisolated var kind: GuestChannelKind { .agent }
    private let socket: UnixSocket
    private var lines: LineBuffer
    /// True while the stream position is unknown (fresh connection, or an exchange that ended early).
    private var needsSync = true
    /// Held for a whole request/reply exchange: actor reentrancy alone would let two exchanges interleave at awaits.
    private let exchangeLock = AsyncLock()

    /// Bytes asked for per `guest-file-read` and sent per `guest-file-write`.
    public static let fileChunkSize = 48 * 1024

    /// Longest agent reply accepted by default (48 MiB). The largest legitimate reply is
    /// `guest-exec-status` for a process that filled both captured streams: qemu-ga keeps at most
    /// 16 MiB of each, sent as base64 (about 21.4 MiB each), so 48 MiB leaves room for the JSON
    /// around them while a reply without end is cut off instead of growing without bound.
    public static let defaultMaxMessageBytes = 48 << 20

    /// The delimiter the agent puts before a `guest-sync-delimited` reply; never valid in UTF-8 JSON.
    private static let delimiter: UInt8 = 0xFF

    private init(socket: UnixSocket, maxMessageBytes: Int) {
        self.socket = socket
        lines = LineBuffer(maxLineLength: maxMessageBytes)
    }

    /// Connects and synchronises with the agent within `timeout`.
    ///
    /// A reply longer than `maxMessageBytes` fails its request with
    /// `GuestAgentError.socket(.lineTooLong(limit:))`; the next request re-synchronises first.
    public static func connect(
        path: String, timeout: Duration, maxMessageBytes: Int = defaultMaxMessageBytes
    ) async throws -> GuestAgentClient {
        let deadline = ContinuousClock.now + timeout
        let socket: UnixSocket
        do {
            socket = try UnixSocket.connect(path: path)
        } catch {
            throw GuestAgentError.socket(error)
        }
        let client = GuestAgentClient(socket: socket, maxMessageBytes: maxMessageBytes)
        do {
            try await client.synchronize(deadline: deadline)
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    /// Closes the connection; a request in flight fails with `disconnected`.
    public func close() async {
        socket.close()
    }

    // MARK: Commands

    /// Sends any agent command and returns its `return` value.
    public func execute(_ command: String, arguments: [String: JSONValue] = [:], timeout: Duration) async throws -> JSONValue {
        try await request(command, arguments, deadline: .now + timeout)
    }

    /// Checks that the agent answers (`guest-ping`).
    public func ping(timeout: Duration) async throws {
        _ = try await request("guest-ping", deadline: .now + timeout)
    }

    /// Agent version and supported commands (`guest-info`).
    public func info(timeout: Duration) async throws -> GuestInfo {
        let reply = try await request("guest-info", deadline: .now + timeout)
        guard let version = reply["version"]?.stringValue, let list = reply["supported_commands"]?.arrayValue else {
            throw GuestAgentError.unexpectedReply(command: "guest-info", reply: reply.description)
        }
        let commands = list.compactMap { entry -> GuestInfo.Command? in
            guard let name = entry["name"]?.stringValue else { return nil }
            return GuestInfo.Command(
                name: name, enabled: entry["enabled"]?.boolValue ?? false,
                successResponse: entry["success-response"]?.boolValue ?? true)
        }
        return GuestInfo(version: version, commands: commands)
    }

    /// Runs `shellCommand` with `/bin/sh -c` and waits for it to exit, capturing its output.
    ///
    /// On timeout the guest process keeps running: the agent has no way to kill it.
    public func exec(
        _ shellCommand: String, stdin: [UInt8]? = nil, environment: [String] = [], timeout: Duration
    ) async throws -> ExecResult {
        let deadline = ContinuousClock.now + timeout
        var arguments: [String: JSONValue] = [
            "path": "/bin/sh", "arg": ["-c", .string(shellCommand)], "capture-output": true,
        ]
        if let stdin { arguments["input-data"] = .string(Data(stdin).base64EncodedString()) }
        if !environment.isEmpty { arguments["env"] = .array(environment.map { .string($0) }) }

        return try await relabellingTimeout("exec of `\(shellCommand)`") {
            let started = try await request("guest-exec", arguments, deadline: deadline)
            guard let pid = started["pid"]?.intValue else {
                throw GuestAgentError.unexpectedReply(command: "guest-exec", reply: started.description)
            }
            // Quick commands finish within milliseconds; back off so long ones do not flood the channel.
            var pause = Duration.milliseconds(5)
            while true {
                let status = try await request("guest-exec-status", ["pid": .int(pid)], deadline: deadline)
                // Only this reaping reply carries the output: the agent forgets the process after it.
                if status["exited"]?.boolValue == true { return try Self.execResult(from: status) }
                try await Task.sleep(until: min(.now + pause, deadline), clock: .continuous)
                guard ContinuousClock.now < deadline else { throw GuestAgentError.timeout(what: "guest-exec-status") }
                pause = min(pause * 2, .milliseconds(100))
            }
        }
    }

    /// Reads a whole guest file (`guest-file-open` "r", `guest-file-read` until eof, `guest-file-close`).
    public func readFile(_ path: String, timeout: Duration) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        return try await relabellingTimeout("reading \(path)") {
            let handle = try await openFile(path, mode: "r", deadline: deadline)
            var contents: [UInt8] = []
            do {
                while true {
                    let chunk = try await request(
                        "guest-file-read", ["handle": .int(handle), "count": .int(Self.fileChunkSize)],
                        deadline: deadline)
                    guard let encoded = chunk["buf-b64"]?.stringValue, let bytes = Data(base64Encoded: encoded) else {
                        throw GuestAgentError.unexpectedReply(command: "guest-file-read", reply: chunk.description)
                    }
                    contents += bytes
                    // An empty read without eof would otherwise loop until the deadline.
                    if chunk["eof"]?.boolValue == true || bytes.isEmpty { break }
                }
            } catch {
                await closeFileAfterFailure(handle, deadline: deadline)
                throw error
            }
            _ = try await request("guest-file-close", ["handle": .int(handle)], deadline: deadline)
            return contents
        }
    }

    /// Creates or truncates a guest file and writes `contents` to it.
    public func writeFile(_ path: String, contents: [UInt8], timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        try await relabellingTimeout("writing \(path)") {
            let handle = try await openFile(path, mode: "w", deadline: deadline)
            do {
                var offset = 0
                while offset < contents.count {
                    let end = min(offset + Self.fileChunkSize, contents.count)
                    let encoded = Data(contents[offset..<end]).base64EncodedString()
                    let reply = try await request(
                        "guest-file-write", ["handle": .int(handle), "buf-b64": .string(encoded)], deadline: deadline)
                    // Short writes are resumed; a zero or impossible count would loop or corrupt the file.
                    guard let written = reply["count"]?.intValue, written > 0, written <= end - offset else {
                        throw GuestAgentError.unexpectedReply(command: "guest-file-write", reply: reply.description)
                    }
                    offset += written
                }
            } catch {
                await closeFileAfterFailure(handle, deadline: deadline)
                throw error
            }
            _ = try await request("guest-file-close", ["handle": .int(handle)], deadline: deadline)
        }
    }

    // MARK: File helpers

    private func openFile(_ path: String, mode: String, deadline: ContinuousClock.Instant) async throws -> Int {
        let reply = try await request("guest-file-open", ["path": .string(path), "mode": .string(mode)], deadline: deadline)
        guard let handle = reply.intValue else {
            throw GuestAgentError.unexpectedReply(command: "guest-file-open", reply: reply.description)
        }
        return handle
    }

    /// Best-effort close after a failure. It gets a short grace period past the deadline, because a
    /// timeout is the usual failure and a leaked handle stays open in the agent for good.
    private func closeFileAfterFailure(_ handle: Int, deadline: ContinuousClock.Instant) async {
        let graceDeadline = max(deadline, .now + .milliseconds(500))
        _ = try? await request("guest-file-close", ["handle": .int(handle)], deadline: graceDeadline)
    }

    /// Runs `body`, renaming a timeout after the user-level operation instead of the agent command.
    private func relabellingTimeout<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch GuestAgentError.timeout {
            throw GuestAgentError.timeout(what: what)
        }
    }

    // MARK: Protocol

    /// Takes the exchange lock and synchronises; used once on connect.
    private func synchronize(deadline: ContinuousClock.Instant) async throws {
        try await exchangeLock.lock()
        defer { exchangeLock.unlock() }
        try await sync(deadline: deadline)
    }

    /// One request/reply exchange, re-synchronising first if the previous one was cut short.
    private func request(
        _ command: String, _ arguments: [String: JSONValue] = [:], deadline: ContinuousClock.Instant
    ) async throws -> JSONValue {
        try await exchangeLock.lock()
        defer { exchangeLock.unlock() }
        if needsSync { try await sync(deadline: deadline) }

        // Until a whole reply has been read, a late reply may still be on its way: leaving early
        // (timeout, cancellation, garbage) means the next exchange must re-synchronise first.
        needsSync = true
        var message: [String: JSONValue] = ["execute": .string(command)]
        if !arguments.isEmpty { message["arguments"] = .object(arguments) }
        try await send(JSONValue.object(message).serialized() + [0x0A], what: command, deadline: deadline)

        var line: [UInt8] = []
        while line.isEmpty {
            // Only sync replies are delimited, but a stray leading delimiter must not hide a good reply.
            line = Array(
                try await readLine(what: command, deadline: deadline).drop {
                    $0 == Self.delimiter || $0 == 0x20 || $0 == 0x09
                })
        }
        guard let reply = try? JSONValue.parse(line) else { throw GuestAgentError.malformedReply(line) }
        if let value = reply["return"] {
            needsSync = false
            return value
        }
        if let error = reply["error"] {
            needsSync = false
            let errorClass = error["class"]?.stringValue ?? "Unknown"
            let desc = error["desc"]?.stringValue ?? error.description
            // QEMU reports blocked commands as CommandNotFound "Command … has been disabled".
            if errorClass == "CommandNotFound" && desc.contains("disabled") {
                throw GuestAgentError.commandDisabled(command)
            }
            throw GuestAgentError.commandFailed(class: errorClass, desc: desc)
        }
        throw GuestAgentError.unexpectedReply(command: command, reply: reply.description)
    }

    /// Flushes the agent's parser with 0xFF, sends `guest-sync-delimited` with a random id, and
    /// discards everything until the 0xFF-delimited reply carrying that id.
    ///
    /// Replies to earlier requests (even earlier sync replies) may still be queued in the channel;
    /// matching the fresh id is what guarantees none of them is taken as an answer.
    private func sync(deadline: ContinuousClock.Instant) async throws {
        let what = "guest-sync-delimited"
        // Below 2^53 so the id survives any JSON implementation that stores numbers as doubles.
        let id = Int.random(in: 1..<(1 << 53))
        lines.removeAll()
        let request: JSONValue = ["execute": .string(what), "arguments": ["id": .int(id)]]
        try await send([Self.delimiter] + request.serialized() + [0x0A], what: what, deadline: deadline)
        while true {
            while !lines.discard(through: Self.delimiter) {
                try await fill(what: what, deadline: deadline)
            }
            var line = try await readLine(what: what, deadline: deadline)
            // A stale reply cut off mid-line can run into ours: only the text after the last delimiter counts.
            if let last = line.lastIndex(of: Self.delimiter) { line = Array(line[(last + 1)...]) }
            if let reply = try? JSONValue.parse(line), reply["return"]?.intValue == id {
                lines.removeAll()  // nothing legitimate can follow before our next request
                needsSync = false
                return
            }
        }
    }

    private func readLine(what: String, deadline: ContinuousClock.Instant) async throws -> [UInt8] {
        while true {
            do {
                if let line = try lines.nextLine() { return line }
            } catch {
                throw GuestAgentError.socket(error)
            }
            try await fill(what: what, deadline: deadline)
        }
    }

    private func fill(what: String, deadline: ContinuousClock.Instant) async throws {
        let chunk: [UInt8]
        do {
            chunk = try await socket.read(deadline: deadline)
        } catch let error as SocketError {
            throw Self.translate(error, what: what)
        }
        if chunk.isEmpty { throw GuestAgentError.disconnected }
        lines.append(chunk)
    }

    private func send(_ bytes: [UInt8], what: String, deadline: ContinuousClock.Instant) async throws {
        do {
            try await socket.write(bytes, deadline: deadline)
        } catch let error as SocketError {
            throw Self.translate(error, what: what)
        }
    }

    private static func translate(_ error: SocketError, what: String) -> GuestAgentError {
        switch error {
        case .timeout: return .timeout(what: what)
        case .closed, .disconnected: return .disconnected
        default: return .socket(error)
        }
    }

    private static func execResult(from status: JSONValue) throws -> ExecResult {
        func decoded(_ key: String) throws -> [UInt8] {
            guard let encoded = status[key]?.stringValue else { return [] }
            guard let bytes = Data(base64Encoded: encoded) else {
                throw GuestAgentError.unexpectedReply(command: "guest-exec-status", reply: "invalid base64 in \(key)")
            }
            return [UInt8](bytes)
        }
        return ExecResult(
            exitCode: status["exitcode"]?.intValue.flatMap { Int32(exactly: $0) },
            signal: status["signal"]?.intValue.flatMap { Int32(exactly: $0) },
            stdout: try decoded("out-data"),
            stderr: try decoded("err-data"),
            stdoutTruncated: status["out-truncated"]?.boolValue ?? false,
            stderrTruncated: status["err-truncated"]?.boolValue ?? false)
    }
}
