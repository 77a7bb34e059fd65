import Foundation
import HallmarkModel
import HallmarkSupport

/// Pure evaluation of controls against facts: no I/O, so every rule is unit-testable. The rules
/// themselves are the resources' (`Resources/`); this applies only_if and severity and records
/// where the facts came from.
public enum Evaluator {
    /// A component's own `test` phase, reported beside the policy controls so its failure closes
    /// the gate like any control instead of aborting the run.
    public static func componentTestResult(component: String, path: String, failure: String?) -> ControlResult {
        let control = Control(
            id: "component-test-\(component)", title: "Component \(component): its test phase passes", severity: .high,
            rationale: "A component's test phase checks, in the booted image, that the component did its job.",
            remediation: "Fix the component's build phase so that its test phase passes; the step's output is in the message.",
            references: [:], check: Check(CommandCheck(run: "test phase of \(component)", exitCode: 0, stdout: nil)),
            location: SourceLocation(file: path))
        var result = ControlResult(
            control: control, policyID: "component-tests", status: failure == nil ? .pass : .fail,
            message: failure ?? "every step of the test phase succeeded", evidence: failure.map { excerpt($0) } ?? "")
        result.observedIn = [.guest]
        return result
    }

    public static func evaluate(_ policy: Policy, facts: Facts) -> [ControlResult] {
        policy.controls.map { evaluate($0, policyID: policy.id, facts: facts) }
    }

    /// One control: its `only_if` precondition first (not holding → notapplicable), then its check.
    /// A failing control of severity `info` is `informational`.
    public static func evaluate(_ control: Control, policyID: String, facts: Facts) -> ControlResult {
        var result = evaluateUnsourced(control, policyID: policyID, facts: facts)
        result.observedIn = sources(of: control, facts: facts)
        return result
    }

    /// Where the facts a control read were observed (probes that were not collected do not count).
    static func sources(of control: Control, facts: Facts) -> [FactSource] {
        let checks = (control.onlyIf.map { [$0] } ?? []) + [control.check]
        return checks.reduce(into: Set<FactSource>()) { sources, check in
            sources.formUnion(check.rule?.sources(in: facts) ?? [])
        }.sorted()
    }

    static func evaluateUnsourced(_ control: Control, policyID: String, facts: Facts) -> ControlResult {
        if let condition = control.onlyIf {
            let precondition = evaluate(condition, facts: facts)
            switch precondition.status {
            case .pass:
                break
            case .fail, .informational, .notapplicable:
                return ControlResult(
                    control: control, policyID: policyID, status: .notapplicable,
                    message: "not applicable: only_if does not hold (\(precondition.message))", evidence: precondition.evidence)
            case .error, .notchecked, .waived:
                return ControlResult(
                    control: control, policyID: policyID, status: precondition.status == .error ? .error : .notchecked,
                    message: "only_if could not be evaluated: \(precondition.message)", evidence: precondition.evidence)
            }
        }
        var outcome = evaluate(control.check, facts: facts)
        if outcome.status == .fail && control.severity == .info { outcome.status = .informational }
        return ControlResult(
            control: control, policyID: policyID, status: outcome.status, message: outcome.message, evidence: outcome.evidence)
    }

    /// A check's rule, once every probe it reads was collected (a rule that decides on part of its
    /// facts says so itself).
    static func evaluate(_ check: Check, facts: Facts) -> Outcome {
        // Checks come from the policy loader, which reads only resources: anything else is a bug, never a pass.
        guard let rule = check.rule else { return Outcome(.error, "no rule evaluates a '\(check.kind)' check") }
        if !rule.decidesWithMissingFacts, let missing = rule.probes.first(where: { facts.probes[$0.key] == nil }) {
            return Outcome(.notchecked, facts.notCollected(missing))
        }
        return rule.evaluate(facts)
    }
}
