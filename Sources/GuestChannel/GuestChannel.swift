/// How Hallmark runs commands in a guest. The checks, component test phases and `hallmark shell`
/// use this and never learn which channel ran them.
public protocol GuestChannel: Actor {
    /// What the channel is, for messages: "guest agent", "console shell".
    nonisolated var kind: GuestChannelKind { get }

    /// Runs `shellCommand` with /bin/sh -c in the guest, as root, and waits up to `timeout`.
    /// `environment` holds `NAME=value` entries.
    func exec(_ shellCommand: String, stdin: [UInt8]?, environment: [String], timeout: Duration) async throws -> ExecResult

    /// Closes the connection; the guest keeps running.
    func close() async
}

extension GuestChannel {
    public func exec(_ shellCommand: String, timeout: Duration) async throws -> ExecResult {
        try await exec(shellCommand, stdin: nil, environment: [], timeout: timeout)
    }
}

/// The two ways into a guest.
public enum GuestChannelKind: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// qemu-guest-agent on its virtio-serial port (`guest-exec`).
    case agent
    /// A root shell on a virtio console port, started for the test by Hallmark (see ConsoleShell).
    case console

    public var description: String { self == .agent ? "guest agent" : "console shell" }
}

/// Outcome of a command run in the guest, through whichever channel ran it.
public struct ExecResult: Sendable, Equatable {
    /// Exit status when the process exited normally.
    public var exitCode: Int32?
    /// Terminating signal when the process was killed by one.
    public var signal: Int32?
    /// Captured standard output.
    public var stdout: [UInt8]
    /// Captured standard error.
    public var stderr: [UInt8]
    /// True when the channel cut stdout short (the agent keeps a bounded amount).
    public var stdoutTruncated: Bool
    /// True when the channel cut stderr short.
    public var stderrTruncated: Bool

    /// Creates a result.
    public init(
        exitCode: Int32?, signal: Int32?, stdout: [UInt8], stderr: [UInt8],
        stdoutTruncated: Bool = false, stderrTruncated: Bool = false
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
    }

    /// Standard output as UTF-8 text (invalid sequences replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as UTF-8 text (invalid sequences replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    /// True when the process exited normally with status 0.
    public var succeeded: Bool { exitCode == 0 && signal == nil }
}

/// Which channel a test VM may use: `auto` prefers the agent and falls back to the console shell
/// when the image has no agent, or its agent blocks guest-exec.
public enum GuestChannelChoice: String, Sendable, Codable, CaseIterable {
    case auto, agent, console
}
