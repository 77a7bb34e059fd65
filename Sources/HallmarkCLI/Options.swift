import ArgumentParser
import HallmarkModel
import HallmarkSupport
import Pipeline
import VirtualMachine

extension AcceleratorProbe.Choice: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

/// Options every stage that boots or reports takes.
struct StageOptions: ParsableArguments {
    @Option(name: .customLong("reports"), help: "Directory for reports: <dir>/<image>/<version>-<build>/.")
    var reportsDirectory = "reports"

    @Option(help: "Accelerator: auto proves KVM works with a tiny guest first and otherwise uses TCG.")
    var accel: AcceleratorProbe.Choice = .auto

    @Option(help: "Lowest severity whose failure closes the gate (overrides the recipe's tests.gate).")
    var gate: Severity?

    @Flag(name: .shortAndLong, help: "Print only warnings, errors and the verdict.")
    var quiet = false

    func pipelineOptions() -> PipelineOptions {
        PipelineOptions(
            home: .fromEnvironment(), reportsDirectory: absolutePath(reportsDirectory), accelerator: accel, gate: gate,
            console: Console(quiet: quiet))
    }
}

func printVerdict(_ outcome: TestOutcome) {
    let report = outcome.report
    let counts = ["pass", "fail", "error", "notchecked", "notapplicable", "waived"]
        .compactMap { key in (report.counts[key] ?? 0) > 0 ? "\(report.counts[key]!) \(key)" : nil }.joined(separator: ", ")
    print("\(report.image.name) \(report.image.version)/\(report.image.build): \(report.gate.summary)")
    print("controls: \(counts)")
    for control in report.controls where control.result == .fail || control.result == .error {
        print("  \(control.result.rawValue.uppercased()) [\(control.severity.rawValue)] \(control.id): \(control.message)")
    }
    print("reports: \(outcome.reportDirectory)/ (report.json, junit.xml, summary.md, facts.json, console.log, build.log)")
}
