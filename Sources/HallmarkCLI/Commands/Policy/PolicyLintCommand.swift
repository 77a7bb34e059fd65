import ArgumentParser
import Foundation
import HallmarkModel
import HallmarkSupport

extension PolicyCommand {
    /// `hallmark policy lint`: every problem of the files, file:line:column.
    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Check policy files and what they include: schema, unknown keys, duplicate ids, bad regular expressions, include cycles, variables (file:line:column). Exit 65 on any problem."
        )

        @Argument(help: "Policy files.") var files: [String]
        @OptionGroup var options: PolicyOptions

        func run() async throws {
            try await runReportingErrors {
                let overrides = try options.overrides()
                var problems = 0
                var policies: [Policy] = []
                for file in files {
                    let (policy, errors) = Policy.lint(path: absolutePath(file), variables: overrides)
                    for error in errors { reportError(error) }
                    problems += errors.count
                    if let policy, errors.isEmpty {
                        policies.append(policy)
                        let included = policy.includedFiles.isEmpty ? "" : ", \(policy.includedFiles.count) included file(s)"
                        print("\(file): ok (\(policy.controls.count) controls\(included), \(policy.tests.count) test case(s))")
                    }
                }
                if problems == 0 {
                    let unknown = Policy.undeclared(overrides, in: policies)
                    if !unknown.isEmpty {
                        reportError(
                            HallmarkError(
                                .usage,
                                "--var \(unknown.joined(separator: ", ")): not declared by any policy; name a variable a policy declares"))
                        problems += unknown.count
                    }
                    do {
                        if let waivers = try options.loadWaivers(for: policies) {
                            print("\(waivers.path): ok (\(waivers.waivers.count) waivers)")
                        }
                    } catch let error as HallmarkError {
                        reportError(error)
                        problems += 1
                    }
                }
                if problems > 0 { print("\(problems) problem(s)") }
                return problems > 0 ? .invalidInput : .gateOpen
            }
        }
    }
}
