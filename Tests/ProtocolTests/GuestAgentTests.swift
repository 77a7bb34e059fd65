import Foundation
import GuestAgent
import GuestChannel
import SocketIO
import Testing

private func base64(_ bytes: [UInt8]) -> JSONValue { .string(Data(bytes).base64EncodedString()) }
private func base64(_ text: String) -> JSONValue { base64(Array(text.utf8)) }

private let agentInfo: JSONValue = [
    "version": "8.2.0",
    "supported_commands": [
        ["name": "guest-ping", "enabled": true, "success-response": true],
        ["name": "guest-exec", "enabled": false, "success-response": true],
        ["name": "guest-shutdown", "enabled": true, "success-response": false],
    ],
]

@Suite struct GuestAgentClientTests {
    @Test func syncDiscardsStaleRepliesAndDelimitedGarbage() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            let id = try await connection.expectSync()
            // Left over from an earlier session: a plain reply, a sync reply with another id, and a
            // sync reply cut off mid-line that runs straight into ours.
            try await connection.send(#"{"return": {"version": "stale", "supported_commands": []}}"# + "\n")
            try await connection.replySync(id == 4242 ? 4243 : 4242)
            // Pause so the rest arrives separately: a client that trusted the first delimited reply
            // would take what follows as the answer to its next request.
            try await Task.sleep(for: .milliseconds(30))
            try await connection.send([0xFF] + Array(#"{"return": 17"#.utf8))
            try await connection.replySync(id)
            _ = try await connection.expectCommand("guest-info")
            try await connection.reply(agentInfo)
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let info = try await client.info(timeout: .seconds(2))
        #expect(info.version == "8.2.0")
        await client.close()
        try await served
    }

    @Test func resyncsAfterATimeoutSoTheLateReplyIsNotTakenAsAnAnswer() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-ping")
            // Silent until the client gives up; its next bytes must be a fresh sync.
            let id = try await connection.expectSync()
            try await connection.reply([:])  // the late answer to guest-ping
            try await connection.replySync(id)
            _ = try await connection.expectCommand("guest-info")
            try await connection.reply(agentInfo)
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let start = ContinuousClock.now
        await #expect(throws: GuestAgentError.timeout(what: "guest-ping")) {
            try await client.ping(timeout: .milliseconds(150))
        }
        #expect(ContinuousClock.now - start < .seconds(10))  // the deadline fired; not a speed test
        let info = try await client.info(timeout: .seconds(2))
        #expect(info.version == "8.2.0")
        await client.close()
        try await served
    }

    @Test func execPollsUntilExitedAndDecodesOutput() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            let arguments = try await connection.expectCommand("guest-exec")
            #expect(arguments["path"] == "/bin/sh")
            #expect(arguments["arg"] == ["-c", "cat; echo oops >&2; exit 3"])
            #expect(arguments["capture-output"] == true)
            #expect(arguments["input-data"] == base64("hello\n"))
            #expect(arguments["env"] == ["LC_ALL=C"])
            try await connection.reply(["pid": 4711])

            #expect(try await connection.expectCommand("guest-exec-status") == ["pid": 4711])
            try await connection.reply(["exited": false])
            #expect(try await connection.expectCommand("guest-exec-status") == ["pid": 4711])
            try await connection.reply([
                "exited": true, "exitcode": 3, "out-data": base64("hello\n"), "err-data": base64("oops\n"),
                "out-truncated": true,
            ])
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let result = try await client.exec(
            "cat; echo oops >&2; exit 3", stdin: Array("hello\n".utf8), environment: ["LC_ALL=C"], timeout: .seconds(2))
        #expect(
            result
                == ExecResult(
                    exitCode: 3, signal: nil, stdout: Array("hello\n".utf8), stderr: Array("oops\n".utf8),
                    stdoutTruncated: true, stderrTruncated: false))
        #expect(result.stdoutText == "hello\n")
        #expect(!result.succeeded)
        await client.close()
        try await served
    }

    @Test func execReportsTerminatingSignal() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            let arguments = try await connection.expectCommand("guest-exec")
            #expect(arguments["input-data"] == nil && arguments["env"] == nil)
            try await connection.reply(["pid": 12])
            _ = try await connection.expectCommand("guest-exec-status")
            try await connection.reply(["exited": true, "signal": 9])
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let result = try await client.exec("kill -9 $$", timeout: .seconds(2))
        #expect(result.exitCode == nil)
        #expect(result.signal == 9)
        #expect(result.stdout.isEmpty && result.stderr.isEmpty)
        await client.close()
        try await served
    }

    @Test func execTimeoutNamesTheCommand() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-exec")
            try await connection.reply(["pid": 5])
            // Still running, for as long as the client keeps asking.
            // The client may hang up between a question and this reply; that ends the exchange.
            while let line = try? await connection.readLineOrEOF() {
                #expect(try JSONValue.parse(line)["execute"] == "guest-exec-status")
                guard (try? await connection.reply(["exited": false])) != nil else { break }
            }
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let start = ContinuousClock.now
        await #expect(throws: GuestAgentError.timeout(what: "exec of `sleep 100`")) {
            try await client.exec("sleep 100", timeout: .milliseconds(250))
        }
        let elapsed = ContinuousClock.now - start
        // Generous upper bound: this asserts that the deadline fires, not how fast a loaded machine is.
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(10))
        await client.close()
        try await served
    }

    @Test func readFileConcatenatesChunksAndCloses() async throws {
        let contents = (0..<100_000).map { UInt8($0 % 251) }
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            #expect(try await connection.expectCommand("guest-file-open") == ["path": "/var/log/big", "mode": "r"])
            try await connection.reply(7)
            var offset = 0
            while offset < contents.count {
                #expect(try await connection.expectCommand("guest-file-read") == ["handle": 7, "count": 49152])
                let end = min(offset + 49152, contents.count)
                try await connection.reply([
                    "count": .int(end - offset), "buf-b64": base64(Array(contents[offset..<end])),
                    "eof": .bool(end == contents.count),
                ])
                offset = end
            }
            #expect(try await connection.expectCommand("guest-file-close") == ["handle": 7])
            try await connection.reply([:])
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let read = try await client.readFile("/var/log/big", timeout: .seconds(2))
        #expect(read.count == contents.count)
        #expect(read == contents)
        await client.close()
        try await served
    }

    @Test func readFileClosesTheHandleWhenAReadFails() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-file-open")
            try await connection.reply(3)
            _ = try await connection.expectCommand("guest-file-read")
            try await connection.replyError(class: "GenericError", desc: "read failed: Input/output error")
            #expect(try await connection.expectCommand("guest-file-close") == ["handle": 3])
            try await connection.reply([:])
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: GuestAgentError.commandFailed(class: "GenericError", desc: "read failed: Input/output error")) {
            try await client.readFile("/dev/broken", timeout: .seconds(2))
        }
        await client.close()
        try await served
    }

    @Test func writeFileSendsChunksThenCloses() async throws {
        let contents = (0..<60_000).map { UInt8($0 % 253) }
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            #expect(try await connection.expectCommand("guest-file-open") == ["path": "/etc/motd", "mode": "w"])
            try await connection.reply(9)
            var received: [UInt8] = []
            for _ in 0..<2 {
                let arguments = try await connection.expectCommand("guest-file-write")
                #expect(arguments["handle"] == 9)
                let chunk = try #require(Data(base64Encoded: arguments["buf-b64"]?.stringValue ?? ""))
                received += chunk
                try await connection.reply(["count": .int(chunk.count), "eof": false])
            }
            #expect(received == contents)
            #expect(try await connection.expectCommand("guest-file-close") == ["handle": 9])
            try await connection.reply([:])
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        try await client.writeFile("/etc/motd", contents: contents, timeout: .seconds(2))
        await client.close()
        try await served
    }

    @Test func disabledCommandIsDetected() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-info")
            try await connection.reply(agentInfo)
            _ = try await connection.expectCommand("guest-exec")
            try await connection.replyError(class: "CommandNotFound", desc: "Command guest-exec has been disabled")
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        let info = try await client.info(timeout: .seconds(2))
        #expect(info.isEnabled("guest-ping"))
        #expect(!info.isEnabled("guest-exec"))
        #expect(!info.isEnabled("guest-no-such-command"))
        #expect(info.commands.first { $0.name == "guest-shutdown" }?.successResponse == false)
        await #expect(throws: GuestAgentError.commandDisabled("guest-exec")) {
            try await client.exec("true", timeout: .seconds(2))
        }
        await client.close()
        try await served
    }

    @Test func agentGoingAwayIsDisconnected() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-ping")
            try await connection.send(#"{"retu"#)
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: GuestAgentError.disconnected) { try await client.ping(timeout: .seconds(2)) }
        await client.close()
        try await served
    }

    @Test func nonJSONReplyIsMalformedWithRawBytes() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.agentSync()
            _ = try await connection.expectCommand("guest-ping")
            try await connection.send("segfault?\n")
            try await connection.waitForClose()
        }

        let client = try await GuestAgentClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: GuestAgentError.malformedReply(Array("segfault?".utf8))) {
            try await client.ping(timeout: .seconds(2))
        }
        await client.close()
        try await served
    }
}
