import SocketIO

/// An asynchronous event from QEMU, such as SHUTDOWN, RESET, POWERDOWN, STOP, VSERPORT_CHANGE or GUEST_PANICKED.
public struct QMPEvent: Sendable, Equatable {
    /// When QEMU emitted an event (host wall clock).
    public struct Timestamp: Sendable, Equatable {
        /// Whole seconds since the Unix epoch.
        public var seconds: Int
        /// Microseconds within the second.
        public var microseconds: Int

        /// Creates a timestamp.
        public init(seconds: Int, microseconds: Int) {
            self.seconds = seconds
            self.microseconds = microseconds
        }
    }

    /// Event name, e.g. "SHUTDOWN".
    public var name: String
    /// Event payload (an empty object when QEMU sends none), e.g. `data["reason"]`, `data["guest"]` for SHUTDOWN.
    public var data: JSONValue
    /// When QEMU emitted the event.
    public var timestamp: Timestamp

    /// Creates an event.
    public init(name: String, data: JSONValue, timestamp: Timestamp) {
        self.name = name
        self.data = data
        self.timestamp = timestamp
    }
}

/// Why a QMP operation failed.
public enum QMPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Connecting to the socket failed.
    case socket(SocketError)
    /// The first message was JSON but not a QMP greeting.
    case greetingMissing(received: String)
    /// No reply (or greeting) arrived before the deadline.
    case timeout(command: String)
    /// QEMU answered with an error.
    case commandFailed(class: String, desc: String)
    /// QEMU sent something that is not a JSON object we understand; the raw line is kept.
    case malformedMessage([UInt8])
    /// The connection ended (peer closed, I/O error, or `close()` was called).
    case disconnected

    public var description: String {
        switch self {
        case .socket(let error):
            return "QMP: \(error)"
        case .greetingMissing(let received):
            return "QMP: expected a greeting from QEMU, got \(received)"
        case .timeout(let command):
            return "QMP: no reply to \(command) before the deadline"
        case .commandFailed(let errorClass, let desc):
            return "QMP command failed: \(errorClass): \(desc)"
        case .malformedMessage(let raw):
            return "QMP: malformed message from QEMU (\(raw.count) bytes): \(printable(raw))"
        case .disconnected:
            return "QMP: connection to QEMU closed"
        }
    }
}

/// Bytes as text for error messages: invalid UTF-8 is replaced and long input is cut short.
func printable(_ raw: [UInt8], limit: Int = 200) -> String {
    let text = String(decoding: raw.prefix(limit), as: UTF8.self).debugDescription
    return raw.count > limit ? text + "…" : text
}
