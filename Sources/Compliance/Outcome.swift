import HallmarkModel

/// What a check's rule concluded from the facts: before only_if, severity and waivers make it a
/// control's result.
public struct Outcome: Sendable, Equatable {
    public var status: ResultStatus
    /// One sentence saying why.
    public var message: String
    /// An excerpt of the facts behind it.
    public var evidence: String

    public init(_ status: ResultStatus, _ message: String, _ evidence: String = "") {
        self.status = status
        self.message = message
        self.evidence = evidence
    }
}
