import ArgumentParser
import Foundation
import HallmarkModel
import HallmarkSupport
import Pipeline

/// Prints a test's verdict, its counts, what failed and where the reports are.
func printVerdict(_ outcome: TestOutcome) {
    let report = outcome.report
    let counts = ResultStatus.allCases.map(\.rawValue)
        .compactMap { key in (report.counts[key] ?? 0) > 0 ? "\(report.counts[key]!) \(key)" : nil }.joined(separator: ", ")
    print("\(report.image.name) \(report.image.version)/\(report.image.build): \(report.gate.summary)")
    print("controls: \(counts)")
    for control in report.controls where control.result == .fail || control.result == .error {
        print(
            "  \(control.result.rawValue.uppercased()) [\(control.severity.rawValue)] \(control.id): \(UntrustedText.forTerminal(control.message))"
        )
    }
    // What the directory holds, so the list cannot drift from what a test writes.
    let files = ((try? FileManager.default.contentsOfDirectory(atPath: outcome.reportDirectory)) ?? []).filter { !$0.hasPrefix(".") }
        .sorted()
    print("reports: \(outcome.reportDirectory)/ (\(files.joined(separator: ", ")))\(outcome.signed ? "" : " — unsigned")")
}

/// `--json`: what a command prints instead of its text, one JSON object on stdout.
struct JSONOutputOption: ParsableArguments {
    @Flag(help: "Print the result as one JSON object on stdout (keys documented in the README; progress and warnings stay on stderr).")
    var json = false
}

/// Prints one JSON object on stdout: keys sorted so the output is stable, slashes unescaped in paths, dates in ISO 8601.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// An error as a `--json` output gives it: where (when in a file) and what, with its cause.
struct JSONError: Encodable {
    var file: String?
    var line: Int?
    var column: Int?
    var message: String
    /// The error as the text output prints it.
    var text: String

    init(_ error: HallmarkError) {
        (file, line, column) = (error.location?.file, error.location?.line, error.location?.column)
        let text = error.description
        self.text = text
        message = error.location.map { String(text.dropFirst("\($0): ".count)) } ?? text
    }

    private enum CodingKeys: String, CodingKey { case file, line, column, message }
}
