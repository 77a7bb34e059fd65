import Foundation
import GuestChannel
import SocketIO

/// The fallback guest channel: a root shell reading commands from a virtio-serial port, for images
/// without a usable guest agent (see `ConsoleShellGuest` for how the guest side starts).
///
/// Every request is one line of shell that stores the command and its stdin from base64, runs it
/// under `timeout`, and answers with lines tagged by the request's random id:
///
///     HMCS <id> stdout <base64>
///     HMCS <id> stderr <base64>
///     HMCS <id> status <exit code>
///
/// Lines with another id (a request that timed out, a readiness ping) or without the tag (the
/// shell's own complaints) are discarded, so a stale answer is never taken for the current one.
public actor ConsoleShellClient: GuestChannel {
    public nonisolated var kind: GuestChannelKind { .console }

    private let socket: UnixSocket
    private var lines: LineBuffer
    /// Held for a whole request/answer exchange: actor reentrancy alone would let two interleave.
    private let exchangeLock = AsyncLock()

    static let tag = "HMCS"
    /// The PATH commands get, the one qemu-guest-agent's service passes, so both channels agree.
    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Longest answer line accepted by default (48 MiB): a command's whole stdout travels as one
    /// base64 line, and this admits the 16 MiB per stream the guest agent would capture, so both
    /// channels carry the same outputs, while a line without end is cut off instead of growing without bound.
    public static let defaultMaxLineBytes = 48 << 20

    private init(socket: UnixSocket, maxLineBytes: Int) {
        self.socket = socket
        lines = LineBuffer(maxLineLength: maxLineBytes)
    }

    /// Connects to the port's socket. The shell need not be up yet: see `waitUntilReady`.
    ///
    /// A line longer than `maxLineBytes` fails its exchange with
    /// `ConsoleShellError.socket(.lineTooLong(limit:))`.
    public static func connect(path: String, maxLineBytes: Int = defaultMaxLineBytes) throws -> ConsoleShellClient {
        do {
            return ConsoleShellClient(socket: try UnixSocket.connect(path: path), maxLineBytes: maxLineBytes)
        } catch {
            throw ConsoleShellError.socket(error)
        }
    }

    public func close() async {
        socket.close()
    }

    /// Asks the shell to echo a fresh id and waits up to `timeout` for it. Commands sent before
    /// the guest's shell started wait in the port's queue, so an unanswered ping is harmless.
    public func ping(timeout: Duration) async throws {
        try await exchange { id in
            try await send("printf '\(Self.tag) %s ready\\n' \(id)\n", deadline: .now + timeout)
            while true {
                let fields = try await nextAnswer(for: id, deadline: .now + timeout)
                if fields.first == "ready" { return }
            }
        }
    }

    public func exec(_ shellCommand: String, stdin: [UInt8]?, environment: [String], timeout: Duration) async throws -> ExecResult {
        let deadline = ContinuousClock.now + timeout
        return try await exchange { id in
            try await send(
                Self.request(
                    id: id, command: shellCommand, stdin: stdin ?? [], environment: environment,
                    seconds: Int(timeout.components.seconds) + 1), deadline: deadline)
            var stdout: [UInt8] = [], stderr: [UInt8] = []
            // The guest's `timeout` ends the command just after ours; wait a little longer for its status.
            let answerDeadline = deadline + .seconds(5)
            while true {
                let fields = try await nextAnswer(for: id, deadline: answerDeadline)
                switch fields.first {
                case "stdout": stdout = try Self.decode(fields, id: id)
                case "stderr": stderr = try Self.decode(fields, id: id)
                case "failed": throw ConsoleShellError.setupFailed(fields.dropFirst().joined(separator: " "))
                case "status":
                    guard fields.count == 2, let code = Int32(fields[1]) else {
                        throw ConsoleShellError.malformedAnswer(fields.joined(separator: " "))
                    }
                    // 137: killed by the guest-side `timeout -s KILL`.
                    if code == 137, ContinuousClock.now >= deadline {
                        throw ConsoleShellError.timeout(what: "exec of `\(shellCommand.prefix(80))`")
                    }
                    return ExecResult(exitCode: code, signal: nil, stdout: stdout, stderr: stderr)
                default: continue
                }
            }
        }
    }

    // MARK: Wire format

    /// One line of POSIX sh. Runs in /, with `timeout -s KILL` when the guest has it. The command is
    /// staged under /run, not /tmp: the shell answers before systemd has booted, and
    /// systemd-tmpfiles empties /tmp at boot (Debian's `D /tmp`), which would take a staged
    /// command's output with it.
    static func request(id: String, command: String, stdin: [UInt8], environment: [String], seconds: Int) -> String {
        let exports = environment.compactMap { entry -> String? in
            guard let equals = entry.firstIndex(of: "=") else { return nil }
            return "export \(entry[..<equals])=\(quoted(String(entry[entry.index(after: equals)...])))\n"
        }.joined()
        let script = Array("PATH=\(path); export PATH\n\(exports)\(command)".utf8)
        let answer =
            "printf '\(tag) %s stdout ' \(id); base64 -w0 \"$hm_d/o\"; printf '\\n\(tag) %s stderr ' \(id); base64 -w0 \"$hm_d/e\"; "
            + "printf '\\n\(tag) %s status %s\\n' \(id) \"$hm_rc\""
        return
            "hm_d=$(mktemp -d -p /run 2>/dev/null || mktemp -d) && printf %s \(base64(script)) | base64 -d >\"$hm_d/s\" && printf %s \(base64(stdin)) | base64 -d >\"$hm_d/i\" "
            + "&& { hm_t=; command -v timeout >/dev/null 2>&1 && hm_t='timeout -s KILL \(seconds)'; "
            + "(cd / && $hm_t sh \"$hm_d/s\" <\"$hm_d/i\" >\"$hm_d/o\" 2>\"$hm_d/e\"); hm_rc=$?; \(answer); rm -rf \"$hm_d\"; } "
            + "|| printf '\\n\(tag) %s failed could not stage the command (mktemp or base64 missing, or neither /run nor /tmp writable)\\n' \(id)\n"
    }

    static func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    static func decode(_ fields: [String], id: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: fields.count > 1 ? fields[1] : "") else {
            throw ConsoleShellError.malformedAnswer(
                "\(tag) \(id) \(fields.first ?? "") <\(fields.count > 1 ? fields[1].count : 0) bytes of invalid base64>")
        }
        return Array(data)
    }

    // MARK: I/O

    /// Runs one request/answer exchange under a fresh random id.
    private func exchange<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        try await exchangeLock.lock()
        defer { exchangeLock.unlock() }
        return try await body(Self.randomID())
    }

    static func randomID() -> String {
        UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    private func send(_ text: String, deadline: ContinuousClock.Instant) async throws {
        do {
            try await socket.write(Array(text.utf8), deadline: deadline)
        } catch let error as SocketError {
            throw error == .timeout ? ConsoleShellError.timeout(what: "sending to the console shell") : ConsoleShellError.socket(error)
        }
    }

    /// The fields after `HMCS <id>` of the next line tagged with `id`; every other line is dropped.
    private func nextAnswer(for id: String, deadline: ContinuousClock.Instant) async throws -> [String] {
        let prefix = Array("\(Self.tag) \(id) ".utf8)
        while true {
            while let line = try nextLine() {
                // The answer starts after a newline the shell printed; anything before a tag on the line is noise.
                guard let start = Self.find(prefix, in: line) else { continue }
                return String(decoding: line[(start + prefix.count)...], as: UTF8.self).split(separator: " ").map(String.init)
            }
            let chunk: [UInt8]
            do {
                chunk = try await socket.read(deadline: deadline)
            } catch let error as SocketError {
                throw error == .timeout ? ConsoleShellError.timeout(what: "the console shell's answer") : ConsoleShellError.socket(error)
            }
            guard !chunk.isEmpty else { throw ConsoleShellError.disconnected }
            lines.append(chunk)
        }
    }

    private func nextLine() throws(ConsoleShellError) -> [UInt8]? {
        do {
            return try lines.nextLine()
        } catch {
            throw .socket(error)
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

/// Why a console shell operation failed.
public enum ConsoleShellError: Error, Sendable, Equatable, CustomStringConvertible {
    case socket(SocketError)
    case timeout(what: String)
    case setupFailed(String)
    case malformedAnswer(String)
    case disconnected

    public var description: String {
        switch self {
        case .socket(let error): "console shell: \(error)"
        case .timeout(let what): "console shell: \(what) timed out"
        case .setupFailed(let why): "console shell: \(why)"
        case .malformedAnswer(let line): "console shell: malformed answer: \(line.prefix(200))"
        case .disconnected: "console shell: connection closed"
        }
    }
}
