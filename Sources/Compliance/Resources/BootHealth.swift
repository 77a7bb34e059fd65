import Foundation
import HallmarkModel
import HallmarkSupport

/// Whether the guest booted cleanly: no failed systemd units (and the state the system settled on).
public struct BootHealthCheck: Resource {
    public init() {}

    public init(yaml body: YAMLInput) throws {
        _ = try body.isNull ? nil : body.mapping(allowed: [])
    }

    public static let kind = ResourceKind.bootHealth

    public var probes: [Probe] { [Self.failedUnits] }

    static let failedUnits = Probe(
        key: "failed-units", script: "systemctl --failed --no-legend --plain --no-pager", runtime: true,
        execution: .subshell(cost: 4))

    /// Test cases may give the state systemd settled on, which the boot session observes.
    public var factKeys: [String] { probes.map(\.key.description) + [Facts.systemStateKey.description] }

    /// The system state is observed in the guest by the pipeline.
    public func sources(in facts: Facts) -> Set<FactSource> {
        sourcesOfProbes(in: facts).union(facts.systemState == nil ? [] : [.guest])
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let fact = facts.output(Self.failedUnits)
        // An empty list proves nothing when systemctl could not answer.
        guard fact.exitCode == 0 else {
            return Outcome(.error, "systemctl --failed did not run (exit \(fact.exitCode))", excerpt(fact.stderr + fact.stdout))
        }
        let failed = lines(fact.stdout)
        let state = facts.systemState.map { normalizeWhitespace($0.stdout) } ?? "unknown"
        return failed.isEmpty
            ? Outcome(.pass, "no failed units (system state: \(state))", "systemctl --failed: (empty); state: \(state)")
            : Outcome(.fail, "\(failed.count) failed unit(s)", excerpt(failed.joined(separator: "\n")))
    }
}

extension Check {
    public static let bootHealth = Check(BootHealthCheck())
}
