import ArgumentParser
import Foundation
import HallmarkModel
import HallmarkSupport

/// `hallmark component validate`: every problem of the documents, as `awstoe validate` finds them.
struct ComponentValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract:
            "Check TOE component documents: schema, unknown keys and actions, phases, parameters and constants, loops, conditions, {{ }} references and chaining (file:line:column).",
        discussion: "Exit codes: 0 no problem, 64 usage, 65 any problem (each printed as FILE:LINE:COLUMN: what), 70 internal error.")

    @Argument(help: "Component documents (YAML).") var files: [String]
    @OptionGroup var output: JSONOutputOption

    /// What `--json` prints; the text output says the same, line by line.
    struct Report: Encodable {
        struct File: Encodable {
            var path: String
            var ok: Bool
            /// The document's name (its file name when it declares none), when it has no problem.
            var name: String?
            var phases: [String]?
            var steps: Int?
            var errors: [JSONError]
        }
        var ok = true
        var problems = 0
        var files: [File] = []
    }

    func run() async throws {
        try await runReportingErrors {
            var report = Report()
            for file in files {
                let path = absolutePath(file)
                do {
                    let (component, errors) = try Component.lint(path: path)
                    report.problems += errors.count
                    if let component, errors.isEmpty {
                        report.files.append(
                            .init(
                                path: file, ok: true, name: component.name, phases: component.phases.map(\.name),
                                steps: component.phases.map(\.steps.count).reduce(0, +), errors: []))
                    } else {
                        report.files.append(.init(path: file, ok: false, errors: errors.map(JSONError.init)))
                    }
                } catch let error as HallmarkError {
                    report.problems += 1
                    report.files.append(.init(path: file, ok: false, errors: [JSONError(error)]))
                }
            }
            report.ok = report.problems == 0
            if output.json {
                try printJSON(report)
            } else {
                for file in report.files {
                    for error in file.errors { reportError(description: error.text) }
                    if file.ok {
                        print(
                            "\(file.path): ok (\(file.name ?? ""): \(file.phases?.joined(separator: ", ") ?? ""); \(file.steps ?? 0) step(s))"
                        )
                    }
                }
                if report.problems > 0 { print("\(report.problems) problem(s)") }
            }
            return report.ok ? .gateOpen : .invalidInput
        }
    }
}
