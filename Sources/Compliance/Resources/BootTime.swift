import Foundation
import HallmarkModel
import HallmarkSupport

/// Each boot of the test reaches the guest agent (or systemd's settled state) within a budget,
/// optionally with budgets for the kernel (with the initramfs) and for userspace. Budgets are
/// what a KVM guest should meet; under emulation each is multiplied by the accelerator's factor,
/// the one guest timeouts use, and the result says by how much.
public struct BootTimeCheck: Resource {
    public enum Milestone: String, Sendable, CaseIterable {
        /// QEMU's start (or the reboot request) until the guest channel answered.
        case agent
        /// Until `systemctl is-system-running --wait` returned.
        case settled
    }

    public var to: Milestone
    public var withinSeconds: Int
    public var kernelSeconds: Int?
    public var userspaceSeconds: Int?

    public init(to: Milestone = .agent, withinSeconds: Int, kernelSeconds: Int? = nil, userspaceSeconds: Int? = nil) {
        (self.to, self.withinSeconds, self.kernelSeconds, self.userspaceSeconds) = (to, withinSeconds, kernelSeconds, userspaceSeconds)
    }

    public static let kind = ResourceKind.bootTime

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["to", "within", "kernel", "userspace"])
        var to = Milestone.agent
        if let input = fields["to"] {
            let text = try input.string()
            guard let milestone = Milestone(rawValue: text) else {
                throw input.error("to must be one of: \(Milestone.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            to = milestone
        }
        self.init(
            to: to, withinSeconds: try fields.required("within").int(in: 1...3600, "within (seconds)"),
            kernelSeconds: try fields["kernel"]?.int(in: 1...3600, "kernel (seconds)"),
            userspaceSeconds: try fields["userspace"]?.int(in: 1...3600, "userspace (seconds)"))
    }

    /// Observed by the pipeline from each boot's profile (`Facts.bootTimes`), not by a probe.
    public var probes: [Probe] { [] }

    public func sources(in facts: Facts) -> Set<FactSource> { facts.bootTimes == nil ? [] : [.guest] }

    public func evaluate(_ facts: Facts) -> Outcome {
        guard let boots = facts.bootTimes, !boots.isEmpty else {
            return Outcome(.notchecked, "runtime-only: no boot was observed", "")
        }
        var evidence: [String] = [], failures: [String] = []
        for boot in boots {
            let scale = boot.scale.isFinite && boot.scale >= 1 ? boot.scale : 1
            func judge(_ phase: String, _ seconds: Double?, _ budget: Int?) {
                guard let budget else { return }
                let allowed = Double(budget) * scale
                guard let seconds, seconds.isFinite else {
                    failures.append("\(boot.boot): no \(phase) time was measured")
                    return
                }
                evidence.append("\(boot.boot) \(phase) \(format(seconds)) (budget \(format(allowed)))")
                if seconds > allowed {
                    let slowest = boot.slowestUnit.map { "; slowest unit \($0)" } ?? ""
                    failures.append("\(boot.boot): \(phase) took \(format(seconds)), over its budget of \(format(allowed))\(slowest)")
                }
            }
            judge(to == .agent ? "to agent" : "to settled", to == .agent ? boot.agentSeconds : boot.settledSeconds, withinSeconds)
            judge("kernel", boot.kernelSeconds, kernelSeconds)
            judge("userspace", boot.userspaceSeconds, userspaceSeconds)
        }
        let factor = boots.map(\.scale).max() ?? 1
        let scaling = factor > 1 ? " (budgets ×\(format(factor, unit: "")) for \(boots.first?.accelerator ?? "emulation"))" : ""
        if !failures.isEmpty { return Outcome(.fail, failures.joined(separator: "; ") + scaling, evidence.joined(separator: "; ")) }
        return Outcome(.pass, "every boot within its budget\(scaling)", evidence.joined(separator: "; "))
    }

    func format(_ seconds: Double, unit: String = " s") -> String { String(format: "%.1f", seconds) + unit }
}
