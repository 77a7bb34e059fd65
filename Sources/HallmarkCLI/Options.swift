import ArgumentParser
import Foundation
import HallmarkModel
import HallmarkSupport
import JUnitXML
import Pipeline
import VirtualMachine

extension AcceleratorProbe.Choice: ExpressibleByArgument {}
extension Severity: ExpressibleByArgument {}

/// `--junit standard|rich`.
enum JUnitChoice: String, ExpressibleByArgument, CaseIterable {
    case standard, rich
}

/// Options every stage that boots or reports takes.
struct StageOptions: ParsableArguments {
    @Option(name: .customLong("reports"), help: "Directory for reports: <dir>/<image>/<version>-<build>/.")
    var reportsDirectory = "reports"

    @Option(help: "Accelerator: auto proves KVM works with a tiny guest first and otherwise uses TCG.")
    var accel: AcceleratorProbe.Choice = .auto

    @Option(help: "Lowest severity whose failure closes the gate (overrides the recipe's tests.gate).")
    var gate: Severity?

    @Option(help: ArgumentHelp("Ed25519 private key (PKCS#8 PEM) that signs report.dsse.json (default: the recipe's evidence.signing_key, then $HALLMARK_SIGNING_KEY).", valueName: "PATH"))
    var signingKey: String?

    @Option(help: "JUnit flavour: standard (valid against the Ant and Jenkins schemas) or rich (adds each control's policy file, line, CIS id, severity and waiver as testcase properties). Default: the recipe's evidence.junit, else standard.")
    var junit: JUnitChoice?

    @Flag(help: "When the test fails, leave its VM running for `hallmark shell` and `hallmark stop`.")
    var keepVMOnFailure = false

    @Flag(name: .shortAndLong, help: "Print only warnings, errors and the verdict.")
    var quiet = false

    func pipelineOptions() -> PipelineOptions {
        var options = PipelineOptions(
            home: .fromEnvironment(), reportsDirectory: absolutePath(reportsDirectory), accelerator: accel, gate: gate,
            signingKey: signingKey.map(absolutePath), console: Console(quiet: quiet))
        options.junitFlavour = junit.map { $0 == .rich ? .rich : .standard }
        options.keepVMOnFailure = keepVMOnFailure
        return options
    }
}

func printVerdict(_ outcome: TestOutcome) {
    let report = outcome.report
    let counts = ["pass", "fail", "error", "notchecked", "notapplicable", "waived"]
        .compactMap { key in (report.counts[key] ?? 0) > 0 ? "\(report.counts[key]!) \(key)" : nil }.joined(separator: ", ")
    print("\(report.image.name) \(report.image.version)/\(report.image.build): \(report.gate.summary)")
    print("controls: \(counts)")
    for control in report.controls where control.result == .fail || control.result == .error {
        print("  \(control.result.rawValue.uppercased()) [\(control.severity.rawValue)] \(control.id): \(UntrustedText.forTerminal(control.message))")
    }
    let files = (outcome.signed ? ["report.dsse.json"] : []) + ["report.json", "report.html", "junit.xml", "summary.md", "facts.json", "console.log", "build.log"]
    print("reports: \(outcome.reportDirectory)/ (\(files.joined(separator: ", ")))\(outcome.signed ? "" : " — unsigned")")
}
