import ArgumentParser
import Foundation
import HallmarkModel
import Pipeline

extension PipelineCommand {
    /// `hallmark pipeline check FILE`: whether the pipeline has anything new to build, and why.
    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether a pipeline would build (what --if-updates decides), and why; builds nothing.",
            discussion: """
                A build is due when there is no AVAILABLE build of the recipe's image, when the recipe or a \
                component changed since the newest one (its build digest), when a policy or waiver changed \
                since its last passing test, or when a suite's Packages index has a newer version of a \
                package the image has installed (the parent's suite and -updates on its mirror, -security on \
                the security archive, unless the pipeline's updates.sources names others).
                """)

        @Argument(help: "The pipeline file.") var file: String
        @OptionGroup var output: JSONOutputOption

        struct Result: Encodable {
            var pipeline: String
            var newest: String?
            var update: Bool
            var reasons: [String]
        }

        func run() async throws {
            try await runReportingErrors {
                let definition = try PipelineDefinition.load(path: file)
                let catalog = try await openCatalog()
                let (newest, reasons) = try await UpdateCheck.reasons(for: definition, catalog: catalog)
                if output.json {
                    try printJSON(Result(pipeline: definition.name, newest: newest?.reference, update: !reasons.isEmpty, reasons: reasons))
                    return .gateOpen
                }
                if reasons.isEmpty {
                    print("\(definition.name): up to date (\(newest?.reference ?? "-")); nothing to build")
                } else {
                    print("\(definition.name): build due")
                    for reason in reasons { print("  \(reason)") }
                }
                return .gateOpen
            }
        }
    }
}
