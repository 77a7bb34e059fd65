import Compliance
import HallmarkSupport

/// The process exit codes Hallmark promises. Documented in the README; CI scripts depend on them.
/// Only the CLI chooses them: library code throws `HallmarkError` with a domain code or returns a verdict.
enum ExitStatus: Int32, Sendable, CaseIterable {
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
    /// The command needs root (it mounts or changes root) and was run without it (sysexits' EX_NOPERM).
    case needsRoot = 77
    /// Interrupted with SIGINT.
    case interrupted = 130
    /// Stopped with SIGTERM.
    case terminated = 143

    /// The exit code of a failure of this kind.
    init(_ code: HallmarkError.Code) {
        switch code {
        case .usage: self = .usage
        case .invalidInput: self = .invalidInput
        // Not a usage error: the command line was right, the process lacks the privilege.
        case .needsRoot: self = .needsRoot
        case .missingTool: self = .missingDependency
        case .buildFailed, .machineFailed, .hostFailure: self = .infrastructure
        // A SIGTERM exits 143 from the signal handler itself; what is left is SIGINT or cancellation.
        case .interrupted: self = .interrupted
        case .internalError: self = .internalError
        }
    }

    /// The exit code of a gate's verdict.
    init(_ verdict: Verdict) {
        switch verdict {
        case .pass: self = .gateOpen
        case .fail: self = .gateClosed
        case .incomplete: self = .notEvaluated
        }
    }

    /// The exit status that summarises several runs: an error's, else 1 if any gate closed, else 2 if any was incomplete.
    static func worst(_ statuses: [ExitStatus]) -> ExitStatus {
        if let error = statuses.first(where: { ![.gateOpen, .gateClosed, .notEvaluated].contains($0) }) { return error }
        if statuses.contains(.gateClosed) { return .gateClosed }
        if statuses.contains(.notEvaluated) { return .notEvaluated }
        return .gateOpen
    }
}
