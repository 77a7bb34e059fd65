import Foundation
import HallmarkModel
import HallmarkSupport

/// The outcome of one of a policy's own test cases (`tests:` in the policy file).
public struct PolicyTestOutcome: Sendable {
    public var name: String
    public var location: SourceLocation
    /// One line per expectation that did not hold: "control: expected pass, got fail (message)".
    public var mismatches: [String]
    public var results: [ControlResult]

    public var passed: Bool { mismatches.isEmpty }
}

/// Runs a policy's test cases: the facts each case gives are evaluated and every expectation compared.
public enum PolicyTestRunner {
    public static func run(_ policy: Policy, waivers: Waivers? = nil, today: Date = Date()) -> [PolicyTestOutcome] {
        policy.tests.map { test in
            let facts = Self.facts(for: test)
            let results =
                waivers.map { Evaluator.evaluate(policy, facts: facts, waivers: $0, today: today) }
                ?? Evaluator.evaluate(policy, facts: facts)
            var mismatches: [String] = []
            for expectation in test.expectations {
                guard let result = results.first(where: { $0.control.id == expectation.controlID }) else {
                    mismatches.append("\(expectation.controlID): no such control (\(expectation.location))")
                    continue
                }
                if result.status != expectation.status {
                    mismatches.append(
                        "\(expectation.controlID): expected \(expectation.status.rawValue), got \(result.status.rawValue) (\(result.message)) at \(expectation.location)"
                    )
                }
            }
            return PolicyTestOutcome(name: test.name, location: test.location, mismatches: mismatches, results: results)
        }
    }

    /// The facts a test case describes, as the collector would have reported them.
    public static func facts(for test: PolicyTestCase) -> Facts {
        Facts(
            probes: Dictionary(
                uniqueKeysWithValues: test.facts.map { coded, fact in
                    (ProbeKey(coded: coded), ProbeOutput(exitCode: fact.exitCode, stdout: fact.stdout, stderr: fact.stderr))
                }),
            reboot: test.reboot.map {
                RebootFact(bootIDBefore: $0.bootIDBefore, bootIDAfter: $0.bootIDAfter, secondsToReturn: nil, failure: $0.failure)
            },
            source: .guest)
    }
}
