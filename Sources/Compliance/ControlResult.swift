import Foundation
import HallmarkModel

/// The result of one control, with the evidence that decided it.
public struct ControlResult: Sendable {
    public var control: Control
    public var policyID: String
    public var status: ResultStatus
    /// One sentence saying why.
    public var message: String
    /// An excerpt of the raw facts behind the result.
    public var evidence: String
    /// The waiver that applied (or expired): mode, expiry, justification, where it is written.
    public var waiver: String?
    /// For a control waived in `run` mode: what the evaluation said before the waiver applied.
    public var originalStatus: ResultStatus?
    /// Where the facts behind the result were observed: the guest, the disk artifact, a root filesystem.
    public var observedIn: [FactSource] = []

    public init(
        control: Control, policyID: String, status: ResultStatus, message: String, evidence: String,
        waiver: String? = nil, originalStatus: ResultStatus? = nil
    ) {
        self.control = control
        self.policyID = policyID
        self.status = status
        self.message = message
        self.evidence = evidence
        self.waiver = waiver
        self.originalStatus = originalStatus
    }
}
