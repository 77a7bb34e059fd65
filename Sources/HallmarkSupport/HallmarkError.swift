import Foundation

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
        case (let line?, let column?): return "\(file):\(line):\(column)"
        case (let line?, nil): return "\(file):\(line)"
        default: return file
        }
    }
}

/// The one error type that crosses module boundaries: what kind of failure, what went wrong, where,
/// and what caused it. It carries no exit code: the CLI alone maps `code` to one.
public struct HallmarkError: Error, CustomStringConvertible {
    /// What kind of failure this is, as a caller decides what to do about it.
    public enum Code: String, Sendable, CaseIterable {
        /// The command line, or something it names (a kept VM, a build, a disk), does not make sense.
        case usage
        /// A recipe, component, policy, waiver, facts, key or envelope file is invalid.
        case invalidInput
        /// The operation needs root (mounts, namespaces, a private root) and Hallmark is not root.
        case needsRoot
        /// A host tool or facility Hallmark needs (qemu, mmdebstrap, hallmark-sandbox, /dev/kvm) is missing.
        case missingTool
        /// The image could not be built: a component step, the image's own tree, the disk step.
        case buildFailed
        /// The test VM could not be driven: QEMU died, the guest never answered, the collector broke off.
        case machineFailed
        /// An operation on the host failed: a file, a lock, a host command.
        case hostFailure
        /// Stopped by SIGINT, SIGTERM or task cancellation.
        case interrupted
        /// A bug in Hallmark.
        case internalError
    }

    public var code: Code
    public var message: String
    /// Where in a user's file the problem is, when it is in one.
    public var location: SourceLocation?
    /// The error this one reports, when there is one; appended to the message when shown.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, at location: SourceLocation? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.cause = cause
    }

    public static func invalidInput(_ message: String, at location: SourceLocation? = nil) -> HallmarkError {
        HallmarkError(.invalidInput, message, at: location)
    }

    /// The test VM or what runs in it failed (the name predates `Code.machineFailed`).
    public static func infrastructure(_ message: String) -> HallmarkError {
        HallmarkError(.machineFailed, message)
    }

    /// `file:line:column: message: cause`, each part only when present.
    public var description: String {
        var text = message
        if let cause { text += ": " + Self.describe(cause) }
        if let location { return "\(location): \(text)" }
        return text
    }

    /// A cause as a user reads it: Foundation's file errors by path and reason, others by their
    /// localized text or as they describe themselves.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? HallmarkError { return error.description }
        if let error = error as? CocoaError { return describe(cocoa: error) }
        if let error = error as? LocalizedError, let text = error.errorDescription { return text }
        return String(describing: error)
    }

    /// "PATH: permission denied" rather than Foundation's "The file … couldn't be opened" or its domain and code.
    static func describe(cocoa error: CocoaError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let reason: String
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason = UserFile.describe(errno: Int32(underlying.code))
        } else {
            switch error.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
            case .fileWriteFileExists: reason = "already exists"
            case .fileWriteOutOfSpace: reason = "no space left on the device"
            case .fileWriteVolumeReadOnly: reason = "the file system is read-only"
            case .fileReadInapplicableStringEncoding: reason = "is not UTF-8 text"
            default: reason = "cannot be read or written"
            }
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
}
