import ConsoleShell
import GuestAgent
import QMP
import SocketIO
import Testing

/// A guest (or a broken QEMU) that writes without pause, or without ever ending a line, must
/// neither keep a client past its deadline nor grow its memory past the configured limit.
@Suite struct HostileGuestTests {
    /// Generous bound for "near the deadline": it asserts that the deadline fired, not machine speed.
    static let slack = Duration.seconds(3)

    @Test func agentFloodingWithoutDelimiterIsCutOffAtTheDeadline() async throws {
        let server = try StubServer()
        let start = ContinuousClock.now
        let connecting = Task { try await GuestAgentClient.connect(path: server.path, timeout: .milliseconds(400)) }
        // NUL bytes carry neither the 0xFF sync delimiter nor a newline.
        let flooder = try await Flooder(server: server, command: ["cat", "/dev/zero"])
        defer { flooder.stop() }
        await #expect(throws: GuestAgentError.timeout(what: "guest-sync-delimited")) { _ = try await connecting.value }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(400) && elapsed < .milliseconds(400) + Self.slack)
    }

    @Test func agentReplyWithoutNewlineIsAProtocolErrorAtTheLimit() async throws {
        let server = try StubServer()
        let limit = 256 * 1024
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-ping")
            await connection.flood(Array(#"{"return": ""#.utf8) + Array(repeating: 0x41, count: 64 * 1024))
        }
        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(5), maxMessageBytes: limit)
        let start = ContinuousClock.now
        // The limit error proves the client never buffered more than the limit plus one read.
        await #expect(throws: GuestAgentError.socket(.lineTooLong(limit: limit))) {
            try await client.ping(timeout: .seconds(20))
        }
        #expect(ContinuousClock.now - start < .seconds(20))
        await client.close()
        try await served
        #expect(GuestAgentClient.defaultMaxMessageBytes >= 2 * (16 << 20) * 4 / 3)  // both captured streams as base64
    }

    @Test func consoleShellFloodOfUntaggedLinesIsCutOffAtTheDeadline() async throws {
        let server = try StubServer()
        let client = try ConsoleShellClient.connect(path: server.path)
        let flooder = try await Flooder(server: server, command: ["yes", "noise from the guest"])
        defer { flooder.stop() }
        let start = ContinuousClock.now
        await #expect(throws: ConsoleShellError.timeout(what: "the console shell's answer")) {
            try await client.ping(timeout: .milliseconds(400))
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(400) && elapsed < .milliseconds(400) + Self.slack)
        await client.close()
    }

    @Test func consoleShellLineWithoutNewlineIsAProtocolErrorAtTheLimit() async throws {
        let server = try StubServer()
        let limit = 256 * 1024
        let client = try ConsoleShellClient.connect(path: server.path, maxLineBytes: limit)
        let flooder = try await Flooder(server: server, command: ["cat", "/dev/zero"])
        defer { flooder.stop() }
        await #expect(throws: ConsoleShellError.socket(.lineTooLong(limit: limit))) {
            _ = try await client.exec("true", stdin: nil, environment: [], timeout: .seconds(20))
        }
        await client.close()
    }

    @Test func qmpFloodOfBlankLinesBeforeTheGreetingIsCutOffAtTheDeadline() async throws {
        let server = try StubServer()
        let start = ContinuousClock.now
        let connecting = Task { try await QMPClient.connect(path: server.path, timeout: .milliseconds(400)) }
        let flooder = try await Flooder(server: server, command: ["yes", ""])
        defer { flooder.stop() }
        await #expect(throws: QMPError.timeout(command: "greeting")) { _ = try await connecting.value }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .milliseconds(400) && elapsed < .milliseconds(400) + Self.slack)
    }

    @Test func qmpMessageWithoutNewlineEndsTheConnectionAtTheLimit() async throws {
        let server = try StubServer()
        let limit = 256 * 1024
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            _ = try await connection.readJSON()
            await connection.flood(Array(repeating: 0x20, count: 64 * 1024))
        }
        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(5), maxMessageBytes: limit)
        await #expect(throws: QMPError.socket(.lineTooLong(limit: limit))) {
            _ = try await client.execute("query-status", timeout: .seconds(20))
        }
        // The connection is over: later commands fail at once instead of waiting for a reply.
        await #expect(throws: QMPError.self) { _ = try await client.execute("query-status", timeout: .seconds(20)) }
        await client.close()
        try await served
    }
}
