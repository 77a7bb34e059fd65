import Foundation

/// A child process writing to an accepted stub connection as fast as the kernel takes it.
///
/// A separate process (`cat /dev/zero`, `yes`) keeps the socket full, so a client's reads never
/// have to wait: the case where a deadline checked only on a blocking read would never fire.
final class Flooder: Sendable {
    private let process: Process

    /// Accepts the next connection on `server` and runs `command` with it as stdout.
    /// The flood stops after `limit` at the latest, so a client that ignores its deadline fails the test instead of hanging it.
    init(server: StubServer, command: [String], stopAfter limit: Duration = .seconds(8)) async throws {
        let fd = try await server.acceptDescriptor()
        let connection = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = connection
        process.standardError = FileHandle.nullDevice
        try process.run()
        try connection.close()
        self.process = process
        // On a Dispatch thread, not a task: a client that never suspends can starve the task pool.
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(limit / .milliseconds(1)))) {
            if process.isRunning { process.terminate() }
        }
    }

    /// Ends the flood and reaps the process.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
