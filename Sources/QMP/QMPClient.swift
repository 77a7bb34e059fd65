import SocketIO
import Synchronization

/// A QEMU Machine Protocol client: commands with id-correlated replies, plus an event stream.
///
/// A background reader task owned by the client parses every newline-delimited message; replies go
/// to the waiting `execute` call with the matching `id`, events go to `events`.
public final class QMPClient: Sendable {
    /// QEMU version from the greeting, e.g. "7.2.0".
    public let qemuVersion: String
    /// Asynchronous events in arrival order; finishes when the connection ends. Iterate from one task only.
    public let events: AsyncStream<QMPEvent>

    private let eventSink: AsyncStream<QMPEvent>.Continuation
    private let socket: UnixSocket
    private let router = ReplyRouter()
    private let reader: Task<Void, Never>

    /// Events are kept while nobody iterates `events`; past this many, the oldest are dropped.
    private static let eventBufferLimit = 4096
    /// Reads wake up at least this often; the reader loops on, so it only bounds the syscall deadline.
    private static let readerDeadlineSlice = Duration.seconds(3600)

    /// Longest QMP message accepted by default (4 MiB): the largest replies Hallmark asks for
    /// (`query-qmp-schema` is the biggest at a few hundred KiB) fit many times over, and a
    /// message without end cannot grow the client's memory past it.
    public static let defaultMaxMessageBytes = 4 << 20

    private init(socket: UnixSocket, qemuVersion: String, unread: LineBuffer) {
        self.socket = socket
        self.qemuVersion = qemuVersion
        let (stream, sink) = AsyncStream.makeStream(
            of: QMPEvent.self, bufferingPolicy: .bufferingNewest(Self.eventBufferLimit))
        events = stream
        eventSink = sink
        // The task captures the pieces it needs rather than `self`, so a forgotten client can still
        // deinit (which stops the reader).
        let router = self.router
        reader = Task {
            await Self.readLoop(socket: socket, router: router, events: sink, lines: unread)
        }
    }

    deinit {
        socket.close()
        reader.cancel()
        eventSink.finish()
    }

    /// Connects, reads the greeting and negotiates capabilities (`qmp_capabilities`) within `timeout`.
    ///
    /// A message longer than `maxMessageBytes` ends the connection with
    /// `QMPError.socket(.lineTooLong(limit:))` for every pending and later command.
    public static func connect(
        path: String, timeout: Duration, maxMessageBytes: Int = defaultMaxMessageBytes
    ) async throws -> QMPClient {
        let deadline = ContinuousClock.now + timeout
        let socket: UnixSocket
        do {
            socket = try UnixSocket.connect(path: path)
        } catch {
            throw QMPError.socket(error)
        }
        let client: QMPClient
        do {
            var lines = LineBuffer(maxLineLength: maxMessageBytes)
            let version = try await readGreeting(from: socket, lines: &lines, deadline: deadline)
            client = QMPClient(socket: socket, qemuVersion: version, unread: lines)
        } catch {
            socket.close()
            throw error
        }
        do {
            // QEMU accepts no other command until capabilities are negotiated.
            try await client.negotiateCapabilities(timeout: deadline - .now)
        } catch {
            await client.close()
            throw error
        }
        return client
    }

    /// `qmp_capabilities`: leaves capabilities negotiation mode, with no optional capability.
    func negotiateCapabilities(timeout: Duration) async throws {
        _ = try await execute("qmp_capabilities", timeout: timeout)
    }

    /// `quit`: QEMU stops the machine and exits (a SHUTDOWN event with reason `host-qmp-quit`).
    /// QEMU may close the connection before its reply arrives, so `disconnected` counts as success.
    public func quit(timeout: Duration) async throws {
        do {
            _ = try await execute("quit", timeout: timeout)
        } catch QMPError.disconnected {
        }
    }

    /// Runs `command` and returns its `return` value; throws `QMPError.commandFailed` for an error reply.
    /// For commands without a typed method (tests, diagnostics).
    public func execute(
        _ command: String, arguments: [String: JSONValue] = [:], timeout: Duration
    ) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        // Registered before sending, so a reply that arrives at once is kept rather than lost.
        let id = try router.register()
        defer { router.unregister(id) }

        var message: [String: JSONValue] = ["execute": .string(command), "id": .string(id)]
        if !arguments.isEmpty { message["arguments"] = .object(arguments) }
        do {
            try await socket.write(JSONValue.object(message).serialized() + [0x0A], deadline: deadline)
        } catch SocketError.timeout {
            throw QMPError.timeout(command: command)
        } catch is SocketError {
            throw QMPError.disconnected
        }

        let router = self.router
        return try await withThrowingTaskGroup(of: JSONValue.self) { group in
            group.addTask { try await router.wait(for: id) }
            group.addTask {
                try await Task.sleep(until: deadline, clock: .continuous)
                throw QMPError.timeout(command: command)
            }
            // A group that returns normally would otherwise wait for the losing child.
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    /// Closes the connection, fails pending commands with `disconnected`, stops and awaits the reader, and finishes `events`.
    public func close() async {
        router.end(with: .disconnected)
        socket.close()
        reader.cancel()
        await reader.value
        eventSink.finish()
    }

    /// Reads up to the first message and extracts the QEMU version from the greeting.
    private static func readGreeting(
        from socket: UnixSocket, lines: inout LineBuffer, deadline: ContinuousClock.Instant
    ) async throws -> String {
        while true {
            while let line = try nextLine(from: &lines) {
                if isBlank(line) { continue }
                guard let message = try? JSONValue.parse(line) else { throw QMPError.malformedMessage(line) }
                let qemu = message["QMP"]?["version"]?["qemu"]
                guard message["QMP"] != nil else { throw QMPError.greetingMissing(received: message.description) }
                guard let major = qemu?["major"]?.intValue, let minor = qemu?["minor"]?.intValue,
                    let micro = qemu?["micro"]?.intValue
                else { throw QMPError.greetingMissing(received: message.description) }
                return "\(major).\(minor).\(micro)"
            }
            let chunk: [UInt8]
            do {
                chunk = try await socket.read(deadline: deadline)
            } catch SocketError.timeout {
                throw QMPError.timeout(command: "greeting")
            } catch is SocketError {
                throw QMPError.disconnected
            }
            if chunk.isEmpty { throw QMPError.disconnected }
            lines.append(chunk)
        }
    }

    /// The reader task: dispatches messages until end of stream, close or cancellation.
    private static func readLoop(
        socket: UnixSocket, router: ReplyRouter, events: AsyncStream<QMPEvent>.Continuation, lines: LineBuffer
    ) async {
        var lines = lines
        while true {
            do {
                while let line = try lines.nextLine() {
                    dispatch(line, router: router, events: events)
                }
            } catch {
                // The stream position is lost: the connection cannot be trusted for another reply.
                router.end(with: .socket(error))
                socket.close()
                break
            }
            do {
                let chunk = try await socket.read(deadline: .now + readerDeadlineSlice)
                if chunk.isEmpty { break }
                lines.append(chunk)
            } catch SocketError.timeout {
                continue
            } catch {
                break  // closed, cancelled or an I/O error: the connection is over either way
            }
        }
        // A partial line left in `lines` is a reply cut short: its waiter gets `disconnected`.
        router.end(with: .disconnected)
        events.finish()
    }

    /// Routes one message: events to the stream, replies to their waiter by `id`.
    private static func dispatch(_ line: [UInt8], router: ReplyRouter, events: AsyncStream<QMPEvent>.Continuation) {
        if isBlank(line) { return }
        guard let message = try? JSONValue.parse(line), message.objectValue != nil else {
            // Unattributable garbage: every pending command may have been answered by it.
            router.failPending(with: .malformedMessage(line))
            return
        }
        if let name = message["event"]?.stringValue {
            let timestamp = QMPEvent.Timestamp(
                seconds: message["timestamp"]?["seconds"]?.intValue ?? 0,
                microseconds: message["timestamp"]?["microseconds"]?.intValue ?? 0)
            events.yield(QMPEvent(name: name, data: message["data"] ?? .object([:]), timestamp: timestamp))
            return
        }
        let id = message["id"]?.stringValue
        if let value = message["return"] {
            // A reply whose id is unknown belongs to a command that already timed out: drop it.
            if let id { router.deliver(.success(value), to: id) }
            return
        }
        if let error = message["error"] {
            let failure = QMPError.commandFailed(
                class: error["class"]?.stringValue ?? "Unknown", desc: error["desc"]?.stringValue ?? error.description)
            if let id {
                router.deliver(.failure(failure), to: id)
            } else {
                // QEMU omits the id only when it could not parse our command, so it concerns everyone waiting.
                router.failPending(with: failure)
            }
            return
        }
        if message["QMP"] != nil { return }  // a repeated greeting carries nothing for us
        router.failPending(with: .malformedMessage(line))
    }

    private static func nextLine(from lines: inout LineBuffer) throws(QMPError) -> [UInt8]? {
        do {
            return try lines.nextLine()
        } catch {
            throw .socket(error)
        }
    }

    private static func isBlank(_ line: [UInt8]) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
    }
}

/// Hands replies from the reader task to the `execute` calls waiting for them, by id.
final class ReplyRouter: Sendable {
    private struct Waiter {
        /// Set once the outcome is known; later replies with the same id are ignored.
        var result: Result<JSONValue, any Error>?
        /// Set while `wait(for:)` is suspended.
        var continuation: CheckedContinuation<JSONValue, any Error>?
    }

    private struct State {
        var nextID = 0
        var waiters: [String: Waiter] = [:]
        var ended = false
    }

    private let state = Mutex(State())

    /// Allocates a fresh id and a slot for its reply; throws `disconnected` once the connection ended.
    func register() throws(QMPError) -> String {
        let id = state.withLock { state -> String? in
            if state.ended { return nil }
            state.nextID += 1
            let id = "hm-\(state.nextID)"
            state.waiters[id] = Waiter()
            return id
        }
        guard let id else { throw .disconnected }
        return id
    }

    /// Drops the slot for `id`; a late reply for it is then ignored.
    func unregister(_ id: String) {
        _ = state.withLock { $0.waiters.removeValue(forKey: id) }
    }

    /// Suspends until the reply for `id` is delivered; honours cancellation.
    func wait(for id: String) async throws -> JSONValue {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSONValue, any Error>) in
                let ready = state.withLock { state -> Result<JSONValue, any Error>? in
                    guard var waiter = state.waiters[id] else { return .failure(QMPError.disconnected) }
                    if let result = waiter.result { return result }
                    // Checked under the lock: either onCancel runs after we park, or we see the flag here.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    waiter.continuation = continuation
                    state.waiters[id] = waiter
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            deliver(.failure(CancellationError()), to: id)
        }
    }

    /// Records the outcome for `id` and wakes its waiter; ignored if `id` is unknown or already answered.
    func deliver(_ result: Result<JSONValue, any Error>, to id: String) {
        let continuation = state.withLock { state -> CheckedContinuation<JSONValue, any Error>? in
            guard var waiter = state.waiters[id], waiter.result == nil else { return nil }
            let continuation = waiter.continuation
            waiter.result = result
            waiter.continuation = nil
            state.waiters[id] = waiter
            return continuation
        }
        continuation?.resume(with: result)
    }

    /// Fails every command still waiting for its reply.
    func failPending(with error: QMPError) {
        let ids = state.withLock { state in state.waiters.filter { $0.value.result == nil }.map(\.key) }
        for id in ids { deliver(.failure(error), to: id) }
    }

    /// Marks the connection as over and fails every pending and future command with `error`.
    func end(with error: QMPError) {
        state.withLock { $0.ended = true }
        failPending(with: error)
    }
}
