import Foundation

/// The process exit codes Hallmark promises. Documented in the README; CI scripts depend on them.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Every control at or above the threshold passed (or was waived): the gate is open.
    case gateOpen = 0
    /// At least one control at or above the threshold failed: the gate is closed.
    case gateClosed = 1
    /// No control failed, but some could not be evaluated (error or not checked).
    case notEvaluated = 2
    /// The image could not be built or the VM could not be driven (guest never answered, QEMU died).
    case infrastructure = 3
    /// The command line was wrong.
    case usage = 64
    /// A recipe, component, policy or waiver file is invalid.
    case invalidInput = 65
    /// A host tool Hallmark needs (qemu, mmdebstrap, mkfs.ext4…) is missing.
    case missingDependency = 69
    /// A bug in Hallmark.
    case internalError = 70
    /// Interrupted with SIGINT.
    case interrupted = 130
    /// Stopped with SIGTERM.
    case terminated = 143
}

/// A position in a user's input file, printed as `file:line:column`.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        switch (line, column) {
        case let (line?, column?): return "\(file):\(line):\(column)"
        case let (line?, nil): return "\(file):\(line)"
        default: return file
        }
    }
}

/// The one error type that crosses module boundaries: what went wrong, where, and which exit code it maps to.
public struct HallmarkError: Error, Sendable, CustomStringConvertible {
    public var status: ExitStatus
    public var message: String
    public var location: SourceLocation?

    public init(_ status: ExitStatus, _ message: String, at location: SourceLocation? = nil) {
        self.status = status
        self.message = message
        self.location = location
    }

    public static func invalidInput(_ message: String, at location: SourceLocation? = nil) -> HallmarkError {
        HallmarkError(.invalidInput, message, at: location)
    }

    public static func infrastructure(_ message: String) -> HallmarkError {
        HallmarkError(.infrastructure, message)
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}
