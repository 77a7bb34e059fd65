import SocketIO
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct UnixSocketTests {
    @Test func rejectsPathLongerThanSockaddrAllows() {
        let path = "/tmp/" + String(repeating: "x", count: 103)  // 108 bytes
        #expect(throws: SocketError.pathTooLong(path: path, byteCount: 108, limit: 107)) {
            try UnixSocket.connect(path: path)
        }
        #expect(UnixSocket.maxPathLength == 107)
    }

    @Test func reportsErrnoWhenNobodyListens() throws {
        let server = try StubServer()
        let missing = server.directory + "/absent"
        #expect(throws: SocketError.connectFailed(path: missing, errno: ENOENT)) {
            try UnixSocket.connect(path: missing)
        }
        #expect(SocketError.connectFailed(path: missing, errno: ENOENT).description.contains("No such file"))
    }

    @Test func readTimesOutAtDeadlineThenSeesDataAndEOF() async throws {
        let server = try StubServer()
        let client = try UnixSocket.connect(path: server.path)
        let connection = try await server.accept()

        let start = ContinuousClock.now
        await #expect(throws: SocketError.timeout) {
            try await client.read(deadline: .now + .milliseconds(100))
        }
        let elapsed = ContinuousClock.now - start
        // Generous upper bound: this asserts that the deadline fires, not how fast a loaded machine is.
        #expect(elapsed >= .milliseconds(100) && elapsed < .seconds(10))

        try await connection.send("ping")
        #expect(try await client.read(deadline: .now + .seconds(2)) == Array("ping".utf8))
        connection.close()
        #expect(try await client.read(deadline: .now + .seconds(2)) == [])

        client.close()
        client.close()  // idempotent
        await #expect(throws: SocketError.closed) { try await client.read(deadline: .now + .seconds(1)) }
        await #expect(throws: SocketError.closed) { try await client.write([1]) }
    }

    @Test func readTimesOutAtTheDeadlineWhilePeerFloods() async throws {
        let server = try StubServer()
        let client = try UnixSocket.connect(path: server.path)
        let connection = try await server.accept()
        async let flooded = connection.flood(Array(repeating: 0x78, count: 64 * 1024))

        let start = ContinuousClock.now
        let deadline = start + .milliseconds(300)
        var received = 0
        await #expect(throws: SocketError.timeout) {
            while true { received += try await client.read(deadline: deadline).count }
        }
        let elapsed = ContinuousClock.now - start
        client.close()
        _ = await flooded
        connection.close()
        #expect(received > 0)  // data did arrive: the deadline fired while reads never had to wait
        #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3))
    }

    @Test func readHonoursCancellationPromptly() async throws {
        let server = try StubServer()
        let client = try UnixSocket.connect(path: server.path)
        let connection = try await server.accept()
        defer { connection.close() }

        let reader = Task { try await client.read(deadline: .now + .seconds(30)) }
        try await Task.sleep(for: .milliseconds(30))
        let start = ContinuousClock.now
        reader.cancel()
        await #expect(throws: CancellationError.self) { try await reader.value }
        #expect(ContinuousClock.now - start < .seconds(10))  // the deadline fired; not a speed test
    }

    @Test func writeToVanishedPeerIsDisconnected() async throws {
        let server = try StubServer()
        let client = try UnixSocket.connect(path: server.path)
        try await server.accept().close()
        // Large enough that the kernel reports the dead peer rather than buffering everything.
        await #expect(throws: SocketError.disconnected) {
            for _ in 0..<64 { try await client.write([UInt8](repeating: 7, count: 64 * 1024)) }
        }
    }
}

@Suite struct JSONValueTests {
    @Test func parsesScalarsContainersAndEscapes() throws {
        let value = try JSONValue.parse(
            #" {"a": [1, -2.5, 3e2, true, false, null], "s": "q\"\\\/\n\u00e9\ud83d\ude00", "big": 12345678901234567890} "#)
        #expect(value["a"]?[0] == .int(1))
        #expect(value["a"]?[1] == .double(-2.5))
        #expect(value["a"]?[2] == .double(300))
        #expect(value["a"]?[2]?.intValue == 300)
        #expect(value["a"]?[3]?.boolValue == true)
        #expect(value["a"]?[5]?.isNull == true)
        #expect(value["a"]?[6] == nil)
        #expect(value["s"]?.stringValue == "q\"\\/\né😀")
        #expect(value["big"]?.intValue == nil && value["big"]?.doubleValue ?? 0 > 1e19, "too big for Int: kept as Double")
        #expect(value["missing"] == nil)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "tru", "01", "\"\u{01}\"", "1 2", "\"\\x\""])
    func rejectsInvalidDocuments(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func reportsOffsetOfError() {
        #expect(throws: JSONParseError(offset: 6, reason: "expected ',' or ']'")) { try JSONValue.parse("[1, 2 3]") }
    }

    @Test func serialisesCompactlyWithSortedKeysAndRoundTrips() throws {
        let value: JSONValue = ["b": [1, 2.5, "x\n\u{1}\"", nil], "a": true]
        #expect(value.description == #"{"a":true,"b":[1,2.5,"x\n\u0001\"",null]}"#)
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    @Test func rejectsPathologicalNesting() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(String(repeating: "[", count: 10_000)) }
    }
}

@Suite struct LineBufferTests {
    @Test func splitsLinesAcrossChunksAndStripsCR() throws {
        var buffer = LineBuffer()
        buffer.append(Array("ab".utf8))
        #expect(try buffer.nextLine() == nil)
        buffer.append(Array("c\r\nd\n".utf8))
        #expect(try buffer.nextLine() == Array("abc".utf8))
        #expect(try buffer.nextLine() == Array("d".utf8))
        #expect(try buffer.nextLine() == nil)
        #expect(buffer.isEmpty)
    }

    @Test func refusesALineLongerThanItsLimitWhetherOrNotItIsComplete() throws {
        var buffer = LineBuffer(maxLineLength: 4)
        buffer.append(Array("abcd\r\nabcd".utf8))
        #expect(try buffer.nextLine() == Array("abcd".utf8))  // exactly the limit, "\r" not counted
        #expect(try buffer.nextLine() == nil)
        buffer.append(Array("e".utf8))
        #expect(throws: SocketError.lineTooLong(limit: 4)) { try buffer.nextLine() }
        #expect(buffer.isEmpty)  // nothing of the refused line is kept

        buffer.append(Array("abcdef\nok\n".utf8))
        #expect(throws: SocketError.lineTooLong(limit: 4)) { try buffer.nextLine() }
        #expect(LineBuffer().maxLineLength == LineBuffer.defaultMaxLineLength)
    }

    @Test func discardsThroughDelimiter() {
        var buffer = LineBuffer()
        buffer.append([1, 2, 0xFF, 3])
        let found = buffer.discard(through: 0xFF)
        #expect(found)
        #expect(buffer.contents == [3])
        let foundAgain = buffer.discard(through: 0xFF)
        #expect(!foundAgain)
        #expect(buffer.isEmpty)
    }
}
