import HallmarkModel

/// The gate's decision over a set of results.
public enum Verdict: String, Codable, Sendable {
    /// No control at or above the threshold failed or errored.
    case pass
    /// A control at or above the threshold failed.
    case fail
    /// Nothing failed, but a control at or above the threshold could not be evaluated.
    case incomplete
}

/// The one place that turns results into a verdict.
public enum Gate {
    public static func verdict(_ results: [ControlResult], threshold: Severity) -> Verdict {
        let gating = results.filter { $0.control.severity >= threshold }
        if gating.contains(where: { $0.status == .fail }) { return .fail }
        if gating.contains(where: { $0.status == .error || $0.status == .notchecked }) { return .incomplete }
        return .pass
    }
}
