import HallmarkSupport
import Pipeline

/// Prints a test's verdict, its counts, what failed and where the reports are.
func printVerdict(_ outcome: TestOutcome) {
    let report = outcome.report
    let counts = ["pass", "fail", "error", "notchecked", "notapplicable", "waived"]
        .compactMap { key in (report.counts[key] ?? 0) > 0 ? "\(report.counts[key]!) \(key)" : nil }.joined(separator: ", ")
    print("\(report.image.name) \(report.image.version)/\(report.image.build): \(report.gate.summary)")
    print("controls: \(counts)")
    for control in report.controls where control.result == .fail || control.result == .error {
        print(
            "  \(control.result.rawValue.uppercased()) [\(control.severity.rawValue)] \(control.id): \(UntrustedText.forTerminal(control.message))"
        )
    }
    let files =
        (outcome.signed ? ["report.dsse.json"] : []) + [
            "report.json", "report.html", "junit.xml", "summary.md", "facts.json", "console.log", "build.log",
        ]
    print("reports: \(outcome.reportDirectory)/ (\(files.joined(separator: ", ")))\(outcome.signed ? "" : " — unsigned")")
}
