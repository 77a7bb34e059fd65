import ArgumentParser
import Foundation
import HallmarkModel
import HallmarkSupport

extension PolicyCommand {
    /// `hallmark policy lint`: every problem of the files, file:line:column.
    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check policy files and what they include: schema, unknown keys, duplicate ids, bad regular expressions, include cycles, variables (file:line:column).",
            discussion: "Exit codes: 0 no problem, 64 usage, 65 any problem (each printed as FILE:LINE:COLUMN: what), 70 internal error.")

        @Argument(help: "Policy files.") var files: [String]
        @OptionGroup var options: PolicyOptions
        @OptionGroup var output: JSONOutputOption

        /// What `--json` prints; the text output says the same, line by line.
        struct Report: Encodable {
            struct File: Encodable {
                var path: String
                var ok: Bool
                /// Counts of a file without errors.
                var controls: Int?
                var includedFiles: Int?
                var testCases: Int?
                var errors: [JSONError]
            }
            struct WaiverFile: Encodable {
                var path: String
                var ok: Bool
                var waivers: Int?
                var errors: [JSONError]
            }
            var ok = true
            var problems = 0
            var files: [File] = []
            var undeclaredVariables: [String] = []
            var waivers: WaiverFile?
        }

        func run() async throws {
            try await runReportingErrors {
                var report = try lint()
                report.ok = report.problems == 0
                if output.json {
                    try printJSON(report)
                } else {
                    printText(report)
                }
                return report.ok ? .gateOpen : .invalidInput
            }
        }

        func lint() throws -> Report {
            let overrides = try options.overrides()
            var report = Report()
            var policies: [Policy] = []
            for file in files {
                let (policy, errors) = Policy.lint(path: absolutePath(file), variables: overrides)
                report.problems += errors.count
                if let policy, errors.isEmpty {
                    policies.append(policy)
                    report.files.append(
                        .init(
                            path: file, ok: true, controls: policy.controls.count, includedFiles: policy.includedFiles.count,
                            testCases: policy.tests.count, errors: []))
                } else {
                    report.files.append(.init(path: file, ok: false, errors: errors.map(JSONError.init)))
                }
            }
            guard report.problems == 0 else { return report }
            report.undeclaredVariables = Policy.undeclared(overrides, in: policies)
            report.problems += report.undeclaredVariables.count
            do {
                if let waivers = try options.loadWaivers(for: policies) {
                    // An expired waiver waives nothing: lint says so before a run finds out.
                    let expired = waivers.expiryProblems(on: Date())
                    report.waivers = .init(
                        path: waivers.path, ok: expired.isEmpty, waivers: waivers.waivers.count, errors: expired.map(JSONError.init))
                    report.problems += expired.count
                }
            } catch let error as HallmarkError {
                report.waivers = .init(path: options.waivers ?? "", ok: false, errors: [JSONError(error)])
                report.problems += 1
            }
            return report
        }

        func printText(_ report: Report) {
            for file in report.files {
                for error in file.errors { reportError(description: error.text) }
                if file.ok, let controls = file.controls {
                    let included = (file.includedFiles ?? 0) == 0 ? "" : ", \(file.includedFiles ?? 0) included file(s)"
                    print("\(file.path): ok (\(controls) controls\(included), \(file.testCases ?? 0) test case(s))")
                }
            }
            if !report.undeclaredVariables.isEmpty {
                reportError(
                    description:
                        "--var \(report.undeclaredVariables.joined(separator: ", ")): not declared by any policy; name a variable a policy declares"
                )
            }
            if let waivers = report.waivers {
                if waivers.ok { print("\(waivers.path): ok (\(waivers.waivers ?? 0) waivers)") }
                for error in waivers.errors { reportError(description: error.text) }
            }
            if report.problems > 0 { print("\(report.problems) problem(s)") }
        }
    }
}
