import ArgumentParser
import Catalog
import Foundation
import HallmarkModel
import HallmarkSupport
import Lifecycle

/// `hallmark lifecycle`: retiring old builds.
struct LifecycleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifecycle", abstract: "Deprecate and delete old builds by count and age.", subcommands: [Apply.self])
}

extension LifecycleCommand {
    /// `hallmark lifecycle apply [PIPELINE | --image NAME]`: the pipeline's `lifecycle:`, or the options', applied to one image.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deprecate and delete an image's old builds by the pipeline's lifecycle: rules.",
            discussion: """
                The rules are the pipeline's lifecycle: (keep, deprecate_after, delete_after, retain_at_least); \
                an option overrides its key. A live build (AVAILABLE or DEPRECATED) beyond the keep newest, \
                or older than deprecate-after, is deprecated; one that is also older than delete-after is \
                deleted. Never retired: the newest AVAILABLE build, a build another build names as its \
                parent, and the newest AVAILABLE builds needed to leave retain-at-least AVAILABLE. Deleting \
                removes the build's directory in the image store and its copies in the directory targets \
                the catalog says it was shipped to (only files whose sha256 is the one shipped), then marks \
                it DELETED. It leaves the layer cache (shared by key; see hallmark cache prune), the \
                reports directory, OCI layout and registry copies, and any file it did not write, and says so.

                Exit codes: 0 applied (or planned with --dry-run); 64 usage; 65 bad pipeline file.
                """)

        @Argument(help: "The pipeline file whose image and lifecycle: to use.") var pipeline: String?
        @Option(help: ArgumentHelp("The image, instead of a pipeline.", valueName: "NAME")) var image: String?
        @Option(help: "Keep this many newest builds.") var keep: Int?
        @Option(help: ArgumentHelp("Deprecate builds older than this (e.g. 90d).", valueName: "AGE")) var deprecateAfter: String?
        @Option(help: ArgumentHelp("Delete retired builds older than this (e.g. 180d).", valueName: "AGE")) var deleteAfter: String?
        @Option(help: "Never leave fewer AVAILABLE builds than this (default 1).") var retainAtLeast: Int?
        @Flag(help: "Print what would be done and change nothing.") var dryRun = false
        @OptionGroup var output: JSONOutputOption

        func validate() throws {
            guard (pipeline == nil) != (image == nil) else { throw ValidationError("name a pipeline file or --image NAME, not both") }
            for (name, value) in [("--deprecate-after", deprecateAfter), ("--delete-after", deleteAfter)] {
                if let value, PipelineDefinition.Lifecycle.days(value) == nil {
                    throw ValidationError("\(name) must be a number of days such as 90d, got '\(value)'")
                }
            }
            if let keep, keep < 1 { throw ValidationError("--keep must be at least 1") }
            if let retainAtLeast, retainAtLeast < 1 { throw ValidationError("--retain-at-least must be at least 1") }
        }

        func run() async throws {
            try await runReportingErrors {
                var name = image ?? ""
                var base = PipelineDefinition.Lifecycle(keep: nil, deprecateAfterDays: nil, retainAtLeast: 1)
                if let pipeline {
                    let definition = try PipelineDefinition.load(path: pipeline)
                    name = try Recipe.load(path: definition.recipe).name
                    base = definition.lifecycle ?? base
                }
                let rules = LifecycleRules(
                    keep: keep ?? base.keep,
                    deprecateAfterDays: deprecateAfter.flatMap(PipelineDefinition.Lifecycle.days) ?? base.deprecateAfterDays,
                    deleteAfterDays: deleteAfter.flatMap(PipelineDefinition.Lifecycle.days) ?? base.deleteAfterDays,
                    retainAtLeast: retainAtLeast ?? base.retainAtLeast)
                guard rules.retiresAnything else {
                    throw HallmarkError(
                        .usage,
                        "no lifecycle rules: the pipeline has no lifecycle: and no --keep, --deprecate-after or --delete-after was given")
                }
                let catalog = try await openCatalog()
                let results = try await applyLifecycle(image: name, rules: rules, catalog: catalog, dryRun: dryRun)
                if output.json {
                    try printJSON(LifecycleReport(image: name, dryRun: dryRun, rules: rules, builds: results))
                } else {
                    printLifecycle(results, image: name, dryRun: dryRun)
                }
                return .gateOpen
            }
        }
    }
}

/// `lifecycle apply --json`: the image, the rules applied, and per build what was decided and done.
struct LifecycleReport: Encodable {
    var image: String
    var dryRun: Bool
    var rules: LifecycleRules
    var builds: [LifecycleResult]
}

func applyLifecycle(image: String, rules: LifecycleRules, catalog: Catalog, dryRun: Bool) async throws -> [LifecycleResult] {
    let applier = LifecycleApplier(catalog: catalog)
    return try await applier.apply(try await applier.plan(image: image, rules: rules), dryRun: dryRun)
}

/// One line per build (newest first), then what a deletion removed and left.
func printLifecycle(_ results: [LifecycleResult], image: String, dryRun: Bool) {
    guard !results.isEmpty else {
        print("\(image): no AVAILABLE or DEPRECATED builds")
        return
    }
    let verbs: [LifecycleDecision.Action: String] =
        dryRun
        ? [.keep: "keep", .deprecate: "would deprecate", .delete: "would delete"]
        : [.keep: "keep", .deprecate: "deprecated", .delete: "deleted"]
    for result in results {
        let decision = result.decision
        print("\(decision.build)  \(decision.state.rawValue)  \(verbs[decision.action]!): \(decision.reasons.joined(separator: "; "))")
        for path in result.removed { print("  removed \(path)") }
        for left in result.left { print("  left \(left.path): \(left.reason)") }
    }
    if dryRun { print("dry run: nothing changed") }
}
