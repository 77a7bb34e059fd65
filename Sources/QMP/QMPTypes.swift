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

/// Why QEMU stopped the machine: the `reason` of a SHUTDOWN event (QAPI `ShutdownCause`).
public enum QMPShutdownReason: Sendable, Equatable, CustomStringConvertible {
    /// The guest reset itself (a reboot; with `-no-reboot` QEMU then exits).
    case guestReset
    /// The guest powered itself off.
    case guestShutdown
    /// The guest panicked (with a pvpanic device).
    case guestPanic
    /// A QMP `quit` command.
    case hostQMPQuit
    /// QEMU received SIGINT, SIGTERM or SIGHUP.
    case hostSignal
    /// Any other cause, as QEMU names it.
    case other(String)

    public init(rawValue: String) {
        switch rawValue {
        case "guest-reset": self = .guestReset
        case "guest-shutdown": self = .guestShutdown
        case "guest-panic": self = .guestPanic
        case "host-qmp-quit": self = .hostQMPQuit
        case "host-signal": self = .hostSignal
        default: self = .other(rawValue)
        }
    }

    /// QEMU's own name for the cause, e.g. "guest-reset".
    public var rawValue: String {
        switch self {
        case .guestReset: return "guest-reset"
        case .guestShutdown: return "guest-shutdown"
        case .guestPanic: return "guest-panic"
        case .hostQMPQuit: return "host-qmp-quit"
        case .hostSignal: return "host-signal"
        case .other(let name): return name
        }
    }

    public var description: String { rawValue }
}

/// The events Hallmark acts on, decoded from a `QMPEvent`; every other event is `other`.
public enum QMPTypedEvent: Sendable, Equatable {
    /// SHUTDOWN: the machine stopped; `guest` is true when the guest asked for it.
    case shutdown(guest: Bool, reason: QMPShutdownReason)
    /// Any event Hallmark does not act on, by name.
    case other(name: String)
}

extension QMPEvent {
    /// The event as one Hallmark acts on.
    public var typed: QMPTypedEvent {
        switch name {
        case "SHUTDOWN":
            return .shutdown(
                guest: data["guest"]?.boolValue ?? false,
                reason: QMPShutdownReason(rawValue: data["reason"]?.stringValue ?? "unknown"))
        default:
            return .other(name: name)
        }
    }
}
