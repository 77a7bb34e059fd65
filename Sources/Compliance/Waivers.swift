import Foundation
import HallmarkModel

// Waivers, applied on the host after evaluation.
extension Evaluator {
    /// Evaluates the policy with its waivers applied: controls under an unexpired `skip` waiver are
    /// not evaluated at all; every waiver is then applied as `applyWaivers` describes.
    public static func evaluate(_ policy: Policy, facts: Facts, waivers: Waivers, today: Date) -> [ControlResult] {
        let skipped = waivers.skipped(on: today)
        let results = policy.controls.map { control in
            skipped.contains(control.id)
                ? ControlResult(control: control, policyID: policy.id, status: .notchecked, message: "not evaluated (waived)", evidence: "")
                : evaluate(control, policyID: policy.id, facts: facts)
        }
        return applyWaivers(results, waivers, today: today)
    }

    /// Every policy's results for one set of facts, with the waivers applied when there are any.
    public static func evaluate(_ policies: [Policy], facts: Facts, waivers: Waivers?, today: Date) -> [ControlResult] {
        policies.flatMap { policy in
            waivers.map { evaluate(policy, facts: facts, waivers: $0, today: today) } ?? evaluate(policy, facts: facts)
        }
    }

    /// Applies waivers on the host, after evaluation. An unexpired waiver makes the result `waived`:
    /// in `skip` mode the evaluation is discarded; in `run` mode the original status, message and
    /// evidence are kept (`originalStatus`, message, evidence). An expired waiver changes nothing but
    /// the message, which says "waiver expired on …". Results of controls without a waiver are unchanged.
    public static func applyWaivers(_ results: [ControlResult], _ waivers: Waivers, today: Date) -> [ControlResult] {
        results.map { result in
            guard let waiver = waivers.waiver(for: result.control.id) else { return result }
            var waived = result
            let until = waiver.expires.map { "until \($0)" } ?? "without expiry"
            if waiver.isExpired(on: today) {
                waived.waiver = "expired on \(waiver.expires!) (\(waiver.mode.rawValue), \(waiver.location)): \(waiver.justification)"
                waived.message = "waiver expired on \(waiver.expires!), so it no longer applies; \(result.message)"
                return waived
            }
            waived.status = .waived
            waived.waiver = "\(waiver.mode.rawValue) \(until) (\(waiver.location)): \(waiver.justification)"
            switch waiver.mode {
            case .skip:
                waived.message = "waived \(until), not evaluated: \(waiver.justification)"
                waived.evidence = ""
                waived.originalStatus = nil
            case .run:
                waived.originalStatus = result.status
                waived.message = "waived \(until): \(waiver.justification); evaluated: \(result.status.rawValue) (\(result.message))"
            }
            return waived
        }
    }
}
