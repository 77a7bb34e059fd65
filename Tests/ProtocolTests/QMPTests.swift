import QMP
import SocketIO
import Testing

@Suite struct QMPClientTests {
    @Test func handshakeThenRepliesAreMatchedById() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            let first = try await connection.readJSON()
            let second = try await connection.readJSON()
            #expect(first["id"] != nil && first["id"] != second["id"])
            let arguments = [first, second].first { $0["execute"] == "human-monitor-command" }?["arguments"]
            #expect(arguments == ["command-line": "info version"])
            // Answer in reverse order: only the id may tie a reply to its command.
            for request in [second, first] {
                try await connection.sendJSON(["return": ["for": request["execute"] ?? .null], "id": request["id"] ?? .null])
            }
            try await connection.waitForClose()
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        #expect(client.qemuVersion == "7.2.0")
        async let status = client.execute("query-status", timeout: .seconds(2))
        async let monitor = client.execute(
            "human-monitor-command", arguments: ["command-line": "info version"], timeout: .seconds(2))
        let (statusReply, monitorReply) = try await (status, monitor)
        #expect(statusReply["for"] == "query-status")
        #expect(monitorReply["for"] == "human-monitor-command")
        await client.close()
        try await served
    }

    @Test func eventsBeforeAReplyGoToTheStream() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            let request = try await connection.readJSON()
            let id = request["id"]?.stringValue ?? "?"
            // Two events, a stale reply and half the real reply in one write; the rest arrives later.
            try await connection.send(
                """
                {"timestamp": {"seconds": 1700000000, "microseconds": 42}, "event": "STOP"}\r
                {"timestamp": {"seconds": 1700000001, "microseconds": 7}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}\r
                {"return": {"status": "stale"}, "id": "hm-999"}\r
                {"return": {"status": "shut
                """)
            try await Task.sleep(for: .milliseconds(20))
            try await connection.send(#"down"}, "id": "\#(id)"}"# + "\r\n")
            try await connection.waitForClose()
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        let reply = try await client.execute("query-status", timeout: .seconds(2))
        #expect(reply == ["status": "shutdown"])

        var events = client.events.makeAsyncIterator()
        let stop = await events.next()
        #expect(stop == QMPEvent(name: "STOP", data: [:], timestamp: .init(seconds: 1_700_000_000, microseconds: 42)))
        let shutdown = try #require(await events.next())
        #expect(shutdown.name == "SHUTDOWN")
        #expect(shutdown.data["reason"] == "guest-shutdown")
        #expect(shutdown.data["guest"]?.boolValue == true)

        await client.close()
        let afterClose = await events.next()
        #expect(afterClose == nil, "closing finishes the event stream")
        try await served
    }

    @Test func errorReplyBecomesCommandFailed() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            let failing = try await connection.readJSON()
            try await connection.sendJSON([
                "error": ["class": "DeviceNotFound", "desc": "Device 'nope' not found"], "id": failing["id"] ?? .null,
            ])
            let next = try await connection.readJSON()
            try await connection.sendJSON(["return": [:], "id": next["id"] ?? .null])
            try await connection.waitForClose()
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: QMPError.commandFailed(class: "DeviceNotFound", desc: "Device 'nope' not found")) {
            try await client.execute("device_del", arguments: ["id": "nope"], timeout: .seconds(2))
        }
        // An error reply leaves the connection usable.
        #expect(try await client.execute("cont", timeout: .seconds(2)) == [:])
        await client.close()
        try await served
    }

    @Test func garbageReplyIsMalformedAndKeepsRawBytes() async throws {
        let garbage: [UInt8] = Array("this is {not json".utf8) + [0xFE, 0x01]
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            _ = try await connection.readJSON()
            try await connection.send(garbage + [0x0D, 0x0A])
            try await connection.waitForClose()
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: QMPError.malformedMessage(garbage)) {
            try await client.execute("query-status", timeout: .seconds(2))
        }
        await client.close()
        try await served
    }

    @Test func garbageInsteadOfGreetingIsMalformed() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.send("HTTP/1.1 400 Bad Request\r\n")
            try await connection.waitForClose()
        }
        await #expect(throws: QMPError.malformedMessage(Array("HTTP/1.1 400 Bad Request".utf8))) {
            try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        }
        try await served
    }

    @Test func jsonThatIsNotAGreetingIsReported() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.send(#"{"return": {}}"# + "\n")
            try await connection.waitForClose()
        }
        await #expect(throws: QMPError.greetingMissing(received: #"{"return":{}}"#)) {
            try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        }
        try await served
    }

    @Test func silentServerTimesOutWithinTheDeadline() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            _ = try await connection.readJSON()
            try await connection.waitForClose()  // never answers
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        let start = ContinuousClock.now
        await #expect(throws: QMPError.timeout(command: "query-status")) {
            try await client.execute("query-status", timeout: .milliseconds(200))
        }
        let elapsed = ContinuousClock.now - start
        // Generous upper bound: this asserts that the deadline fires, not how fast a loaded machine is.
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(10))
        await client.close()
        try await served
    }

    @Test func missingGreetingTimesOut() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in try await connection.waitForClose() }
        let start = ContinuousClock.now
        await #expect(throws: QMPError.timeout(command: "greeting")) {
            try await QMPClient.connect(path: server.path, timeout: .milliseconds(150))
        }
        #expect(ContinuousClock.now - start < .seconds(10))  // the deadline fired; not a speed test
        try await served
    }

    @Test func serverClosingMidReplyDisconnects() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            _ = try await connection.readJSON()
            try await connection.send(#"{"return": {"status": "runn"#)
            // Returning closes the connection in the middle of the reply.
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: QMPError.disconnected) {
            try await client.execute("query-status", timeout: .seconds(2))
        }
        var events = client.events.makeAsyncIterator()
        let afterEnd = await events.next()
        #expect(afterEnd == nil, "the event stream ends with the connection")
        await #expect(throws: QMPError.disconnected) {
            try await client.execute("query-status", timeout: .seconds(2))
        }
        await client.close()
        try await served
    }

    @Test func closeFailsPendingCommands() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            try await connection.waitForClose()
        }

        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        let pending = Task { try await client.execute("query-status", timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        await client.close()
        await #expect(throws: QMPError.disconnected) { try await pending.value }
        #expect(ContinuousClock.now - start < .seconds(10))  // the deadline fired; not a speed test
        try await served
    }

    @Test func connectToMissingSocketReportsSocketError() async throws {
        let server = try StubServer()
        let missing = server.directory + "/none"
        await #expect(throws: QMPError.socket(.connectFailed(path: missing, errno: 2))) {
            try await QMPClient.connect(path: missing, timeout: .seconds(1))
        }
    }

    @Test func quitSendsQuitAndAcceptsQEMUClosingBeforeItsReply() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            let request = try await connection.readJSON()
            #expect(request["execute"] == "quit")
            #expect(request["arguments"] == nil)
            // QEMU may exit before the reply is written: returning closes the connection.
        }
        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        try await client.quit(timeout: .seconds(2))
        await client.close()
        try await served
    }

    @Test func quitReportsAnErrorReply() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            let request = try await connection.readJSON()
            try await connection.sendJSON(["error": ["class": "GenericError", "desc": "no"], "id": request["id"] ?? .null])
            try await connection.waitForClose()
        }
        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        await #expect(throws: QMPError.commandFailed(class: "GenericError", desc: "no")) { try await client.quit(timeout: .seconds(2)) }
        await client.close()
        try await served
    }

    @Test func shutdownEventsAreTyped() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            try await connection.qmpHandshake()
            try await connection.send(
                """
                {"timestamp": {"seconds": 1, "microseconds": 0}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-reset"}}\r
                {"timestamp": {"seconds": 2, "microseconds": 0}, "event": "STOP"}\r
                {"timestamp": {"seconds": 3, "microseconds": 0}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}\r
                {"timestamp": {"seconds": 4, "microseconds": 0}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "snapshot-load"}}\r

                """)
            try await connection.waitForClose()
        }
        let client = try await QMPClient.connect(path: server.path, timeout: .seconds(2))
        var events = client.events.makeAsyncIterator()
        var typed: [QMPTypedEvent] = []
        for _ in 0..<4 { typed.append(try #require(await events.next()).typed) }
        #expect(
            typed == [
                .shutdown(guest: true, reason: .guestReset),
                .other(name: "STOP"),
                .shutdown(guest: false, reason: .hostQMPQuit),
                .shutdown(guest: false, reason: .other("snapshot-load")),
            ])
        await client.close()
        try await served
    }

    @Test func shutdownReasonsKeepQEMUsNames() {
        for name in ["guest-reset", "guest-shutdown", "guest-panic", "host-qmp-quit", "host-signal", "host-error"] {
            #expect(QMPShutdownReason(rawValue: name).rawValue == name)
            #expect(QMPShutdownReason(rawValue: name).description == name)
        }
        #expect(QMPShutdownReason(rawValue: "guest-shutdown") == .guestShutdown)
        // A SHUTDOWN without a reason (older QEMU) still decodes.
        let bare = QMPEvent(name: "SHUTDOWN", data: [:], timestamp: .init(seconds: 0, microseconds: 0))
        #expect(bare.typed == .shutdown(guest: false, reason: .other("unknown")))
    }
}
