import ConsoleShell
import Foundation
import GuestChannel
import SocketIO
import Testing

/// The console shell client against this host's real /bin/sh on the socket (what the guest runs),
/// and against scripted peers for stale answers, noise, silence and a connection cut mid-answer.
@Suite struct ConsoleShellTests {
    /// A real `sh` reading requests from the accepted connection, as the guest's launcher runs it.
    func withRealShell(_ body: (ConsoleShellClient) async throws -> Void) async throws {
        let server = try StubServer()
        let client = try ConsoleShellClient.connect(path: server.path)
        let fd = try await server.acceptDescriptor()
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        (shell.standardInput, shell.standardOutput, shell.standardError) = (handle, handle, handle)
        try shell.run()
        try handle.close()
        defer { shell.terminate() }
        try await body(client)
        await client.close()
        shell.waitUntilExit()
    }

    @Test func runsCommandsInARealShellWithStdinEnvironmentAndExitCode() async throws {
        try await withRealShell { client in
            try await client.ping(timeout: .seconds(5))
            let result = try await client.exec(
                "printf 'out\\nno newline'; echo err >&2; exit 3", stdin: nil, environment: [], timeout: .seconds(10))
            #expect(result == ExecResult(exitCode: 3, signal: nil, stdout: Array("out\nno newline".utf8), stderr: Array("err\n".utf8)))
            let bytes: [UInt8] = Array(0...255) + Array("\nHMCS fake status 0\n".utf8)
            let echoed = try await client.exec(
                "cat; printf '%s|%s' \"$FOO\" \"$PWD\"", stdin: bytes, environment: ["FOO=it's $HOME \"quoted\""],
                timeout: .seconds(10))
            #expect(echoed.stdout == bytes + Array("it's $HOME \"quoted\"|/".utf8))
            #expect(echoed.succeeded)
        }
    }

    @Test func aTimedOutCommandIsKilledAndItsLateAnswerNotTakenForTheNext() async throws {
        try await withRealShell { client in
            let start = ContinuousClock.now
            await #expect(throws: ConsoleShellError.self) {
                _ = try await client.exec("sleep 30; echo late", stdin: nil, environment: [], timeout: .seconds(1))
            }
            #expect(ContinuousClock.now - start < .seconds(10))
            let next = try await client.exec("echo next", stdin: nil, environment: [], timeout: .seconds(10))
            #expect(next.stdoutText == "next\n")
        }
    }

    /// The request's id, from the answer it asks for (`printf 'HMCS %s … ' ID`).
    static func requestID(_ line: [UInt8]) throws -> String {
        let text = String(decoding: line, as: UTF8.self)
        let match = try #require(text.firstMatch(of: /HMCS %s (?:ready|stdout)[^']*' ([0-9a-f]{32})/))
        return String(match.1)
    }

    @Test func staleAnswersAndNoiseAreDiscarded() async throws {
        let server = try StubServer()
        async let served: Void = server.serve { connection in
            let id = try Self.requestID(try await connection.readLine())
            try await connection.send("sh: 1: something complained\nHMCS 0123456789abcdef0123456789abcdef status 0\n")
            try await connection.send("HMCS \(id) stdout \(Data("right".utf8).base64EncodedString())\n")
            try await connection.send("HMCS \(id) stderr \nHMCS \(id) status 0\n")
            try await connection.waitForClose()
        }
        let client = try ConsoleShellClient.connect(path: server.path)
        let result = try await client.exec("echo right", stdin: nil, environment: [], timeout: .seconds(2))
        #expect(result.stdoutText == "right")
        #expect(result.exitCode == 0)
        await client.close()
        try await served
    }

    @Test func silenceIsATimeoutAndACutConnectionIsReported() async throws {
        let silent = try StubServer()
        async let quiet: Void = silent.serve { connection in try await connection.waitForClose() }
        let client = try ConsoleShellClient.connect(path: silent.path)
        await #expect(throws: ConsoleShellError.timeout(what: "the console shell's answer")) {
            try await client.ping(timeout: .milliseconds(300))
        }
        await client.close()
        try await quiet

        let cutting = try StubServer()
        async let cut: Void = cutting.serve { connection in
            let id = try Self.requestID(try await connection.readLine())
            try await connection.send("HMCS \(id) stdout aGVsbG8=\nHMCS \(id) std")
        }
        let second = try ConsoleShellClient.connect(path: cutting.path)
        await #expect(throws: ConsoleShellError.disconnected) {
            _ = try await second.exec("echo hello", stdin: nil, environment: [], timeout: .seconds(2))
        }
        await second.close()
        try await cut
    }

    @Test func launcherKeepsTheImagesInitAndAvoidsDoubleQuotesInside() {
        let line = ConsoleShellGuest.kernelCommandLine("root=/dev/vda rw init=/lib/systemd/systemd quiet")
        #expect(line.hasPrefix("root=/dev/vda rw quiet init=/bin/sh -- -c \""))
        #expect(line.hasSuffix("exec /lib/systemd/systemd\""))
        let script = line.split(separator: "\"", omittingEmptySubsequences: false)
        #expect(script.count == 3, "the launcher must be one double-quoted word")
        #expect(ConsoleShellGuest.kernelCommandLine("root=/dev/vda").hasSuffix("exec /sbin/init\""))
    }
}
