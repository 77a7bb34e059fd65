import SocketIO

/// What `guest-info` reports: agent version and which commands it supports and allows.
public struct GuestInfo: Sendable, Equatable {
    /// One entry of `supported_commands`.
    public struct Command: Sendable, Equatable {
        /// Command name, e.g. "guest-exec".
        public var name: String
        /// False when the agent was started with the command blocked (e.g. `--block-rpcs`).
        public var enabled: Bool
        /// False for commands that send no reply on success (e.g. guest-shutdown).
        public var successResponse: Bool

        /// Creates a command entry.
        public init(name: String, enabled: Bool, successResponse: Bool = true) {
            self.name = name
            self.enabled = enabled
            self.successResponse = successResponse
        }
    }

    /// Agent version, e.g. "7.2.0".
    public var version: String
    /// Every command the agent knows.
    public var commands: [Command]

    /// Creates guest information.
    public init(version: String, commands: [Command]) {
        self.version = version
        self.commands = commands
    }

    /// True when the agent supports `command` and it is enabled.
    public func isEnabled(_ command: String) -> Bool {
        commands.first { $0.name == command }?.enabled ?? false
    }
}

/// Why a guest agent operation failed.
public enum GuestAgentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Connecting to the socket failed.
    case socket(SocketError)
    /// The operation named by `what` did not finish before its deadline.
    case timeout(what: String)
    /// The agent refuses the command because it was started with it blocked.
    case commandDisabled(String)
    /// The agent answered with an error.
    case commandFailed(class: String, desc: String)
    /// The agent sent a line that is not JSON; the raw bytes are kept.
    case malformedReply([UInt8])
    /// The reply was JSON but lacked what the command promises.
    case unexpectedReply(command: String, reply: String)
    /// The connection ended (agent went away, or `close()` was called).
    case disconnected

    public var description: String {
        switch self {
        case .socket(let error):
            return "guest agent: \(error)"
        case .timeout(let what):
            return "guest agent: \(what) timed out"
        case .commandDisabled(let command):
            return "guest agent: \(command) is disabled in the guest agent"
        case .commandFailed(let errorClass, let desc):
            return "guest agent command failed: \(errorClass): \(desc)"
        case .malformedReply(let raw):
            let text = String(decoding: raw.prefix(200), as: UTF8.self).debugDescription
            return "guest agent: malformed reply (\(raw.count) bytes): \(text)\(raw.count > 200 ? "…" : "")"
        case .unexpectedReply(let command, let reply):
            return "guest agent: unexpected reply to \(command): \(reply)"
        case .disconnected:
            return "guest agent: connection closed"
        }
    }
}
