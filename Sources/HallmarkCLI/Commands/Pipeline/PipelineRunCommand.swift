import ArgumentParser
import Attestation
import Catalog
import Distribution
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import Lifecycle
import Pipeline

extension PipelineCommand {
    /// `hallmark pipeline run FILE`: build, test, sign, verify and distribute, with the catalog following along.
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build, test, sign, verify and distribute a pipeline's image.",
            discussion: """
                The build goes BUILDING → TESTING (with the pipeline's tests.gate and tests.waivers, signed \
                with signing.key) → DISTRIBUTING → AVAILABLE; a closed gate, a refused verification or a \
                failed target ends it FAILED, and nothing reaches a target unless the release gate verified \
                the exact files with the public half of signing.key. With --if-updates nothing is built \
                when `hallmark pipeline check` finds nothing new. Targets are directories, OCI layouts \
                and OCI registries (the build as an artifact with its envelope and report as referrers). After a \
                distribution that reached every target, the pipeline's lifecycle: is applied (as \
                `hallmark lifecycle apply FILE`) and what it did is printed.

                Exit codes: 0 tested and shipped (or nothing to build); 1 the gate closed or the release \
                gate refused; 2 controls not evaluated; 3 build, VM or target failure; 64 usage; 65 bad file.
                """)

        @Argument(help: "The pipeline file.") var file: String
        @Flag(
            name: .customLong("if-updates"),
            help: "Build only when the recipe, a component, a policy, a waiver or a parent package changed.")
        var ifUpdates = false
        @OptionGroup var output: OutputOptions
        @OptionGroup var machine: MachineOptions

        func run() async throws {
            try await runReportingErrors {
                let definition = try PipelineDefinition.load(path: file)
                let catalog = try await openCatalog()
                if ifUpdates {
                    let (newest, reasons) = try await UpdateCheck.reasons(for: definition, catalog: catalog)
                    guard !reasons.isEmpty else {
                        print("\(definition.name): up to date (\(newest?.reference ?? "-")); nothing built")
                        return .gateOpen
                    }
                    for reason in reasons { print("\(definition.name): building: \(reason)") }
                }
                var loaded = try LoadedRecipe.load(path: definition.recipe)
                if let waivers = definition.waivers {
                    loaded.waivers = try Waivers.load(path: waivers)
                    try loaded.waivers?.validate(against: loaded.policies.flatMap { $0.controls.map(\.id) })
                }
                var options = PipelineOptions(output: output, machine: machine)
                options.gate = definition.gate
                options.signingKey = definition.signingKey
                let key = try definition.signingKey.map { try SigningKey(pemFile: $0).publicKey }
                let pipeline = Pipeline(options: options)
                try pipeline.checkTestInputs(loaded)

                let (image, timings, _) = try await pipeline.build(loaded, finished: .testing)
                let build = try await catalog.resolve(BuildSelector(parsing: "\(image.name)@\(image.version)/\(image.build)"))
                let outcome: TestOutcome
                do {
                    var stages = StageTimings()
                    (stages.bootstrap, stages.components, stages.disk) = (timings.bootstrap, timings.components, timings.disk)
                    outcome = try await pipeline.test(loaded, image: image, buildTimings: stages)
                } catch {
                    _ = try? await catalog.setState(build, .failed, note: "test failed: \(HallmarkError.describe(error))")
                    throw error
                }
                printVerdict(outcome)
                guard outcome.verdict == .pass else {
                    try await catalog.setState(build, .failed, note: outcome.report.gate.summary)
                    return ExitStatus(outcome.verdict)
                }
                guard let key, !definition.targets.isEmpty else {
                    try await catalog.setState(build, .available, note: "tested; no targets")
                    return .gateOpen
                }
                let candidate = releaseCandidate(image, reports: outcome.reportDirectory)
                let shipped = try await shipThroughGate(
                    build, candidate: candidate, key: key, targets: definition.targets, catalog: catalog, otherwise: .failed)
                // Retiring old builds only after this one is AVAILABLE everywhere: a failed run retires nothing.
                if shipped == .gateOpen, let lifecycle = definition.lifecycle {
                    let rules = LifecycleRules(lifecycle)
                    print("\(definition.name): applying lifecycle: (as hallmark lifecycle apply \(definition.path))")
                    printLifecycle(
                        try await applyLifecycle(image: image.name, rules: rules, catalog: catalog, dryRun: false), image: image.name,
                        dryRun: false)
                }
                return shipped
            }
        }
    }
}
