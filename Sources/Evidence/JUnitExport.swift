import Compliance
import Foundation
import HallmarkModel
import JUnitXML

/// Maps the audit report to JUnit: one testsuite per policy, one testcase per control, with the
/// classname `hallmark.<policy id>` so CI history lines up across runs.
public enum JUnitExport {
    public static func report(_ audit: AuditReport, hostname: String) -> JUnitReport {
        var order: [String] = []
        for control in audit.controls where !order.contains(control.policy) { order.append(control.policy) }
        let suites = order.map { policy in
            let controls = audit.controls.filter { $0.policy == policy }
            let cases = controls.map { control in
                JUnitCase(
                    name: "\(control.id): \(control.title)",
                    classname: "hallmark.\(policy)",
                    time: 0,
                    outcome: outcome(control),
                    properties: [JUnitProperty(name: "severity", value: control.severity.rawValue)]
                        + control.references.sorted { $0.key < $1.key }.map {
                            JUnitProperty(name: $0.key, value: $0.value.joined(separator: ", "))
                        }
                        + (control.waiver.map { [JUnitProperty(name: "waiver", value: $0)] } ?? []),
                    systemOut: control.evidence.isEmpty ? nil : control.evidence,
                    file: control.policyFile, line: control.line)
            }
            return JUnitSuite(
                name: policy, timestamp: audit.startedAt, hostname: hostname,
                time: audit.timings.checks ?? 0,
                properties: [
                    JUnitProperty(name: "image", value: "\(audit.image.name) \(audit.image.version)/\(audit.image.build)"),
                    JUnitProperty(name: "verdict", value: audit.gate.verdict.rawValue),
                    JUnitProperty(name: "tool", value: "\(audit.tool.name) \(audit.tool.version)"),
                ],
                cases: cases, systemOut: nil, systemErr: nil, package: "hallmark")
        }
        return JUnitReport(name: "hallmark \(audit.image.name)", suites: suites)
    }

    static func outcome(_ control: AuditReport.ControlEntry) -> JUnitCase.Outcome {
        let details = [
            control.message, control.evidence.isEmpty ? nil : "Evidence: \(control.evidence)",
            control.remediation.map { "Remediation: \($0)" },
        ].compactMap { $0 }.joined(separator: "\n")
        switch control.result {
        case .pass, .informational: return .passed
        case .fail: return .failure(message: control.message, type: control.severity.rawValue, details: details)
        case .error: return .error(message: control.message, type: "error", details: details)
        case .waived: return .skipped(message: "waived: \(control.waiver ?? control.message)")
        case .notapplicable: return .skipped(message: "not applicable: \(control.message)")
        case .notchecked: return .skipped(message: "not checked: \(control.message)")
        }
    }
}

extension JUnitWriter.Flavour {
    /// The writer's flavour for the one the recipe or `--junit` names.
    public init(_ flavour: JUnitFlavour) {
        switch flavour {
        case .standard: self = .standard
        case .rich: self = .rich
        }
    }
}

extension JUnitWriter {
    /// Writes `report` in the flavour a recipe or `--junit` names.
    public static func write(_ report: JUnitReport, to path: String, flavour: JUnitFlavour) throws {
        try write(report, to: path, flavour: Flavour(flavour))
    }
}
