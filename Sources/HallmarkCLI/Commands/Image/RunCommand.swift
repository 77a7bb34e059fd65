import ArgumentParser
import Foundation
import HallmarkSupport
import Pipeline

/// `hallmark run`: build, then test; the exit code is the gate.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Build the recipe's image, then test it: the exit code is the gate.",
        discussion: """
            With several recipes, each is built and tested in its own VM with its own reports; --jobs sets \
            how many run at once. The exit code is the worst of them: an error's code, else 1 if any gate \
            closed, else 2 if any could not be evaluated, else 0.
            """)

    @Argument(help: "Recipe files (YAML).") var recipes: [String]
    @Option(name: .shortAndLong, help: "How many recipes to build and test at once.") var jobs = 1
    @OptionGroup var output: OutputOptions
    @OptionGroup var machine: MachineOptions
    @OptionGroup var evidence: EvidenceOptions

    func validate() throws {
        guard !recipes.isEmpty else { throw ValidationError("name at least one recipe") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        try await runReportingErrors {
            // Every input is validated before anything is built or booted.
            let loaded = try recipes.map(LoadedRecipe.load)
            let pipelineOptions = PipelineOptions(output: output, machine: machine, evidence: evidence)
            for recipe in loaded { try Pipeline(options: pipelineOptions).checkTestInputs(recipe) }
            if loaded.count == 1 {
                let outcome = try await Pipeline(options: pipelineOptions).run(loaded[0])
                printVerdict(outcome)
                return ExitStatus(outcome.verdict)
            }
            let statuses = await runConcurrently(loaded, jobs: jobs) { recipe in
                var jobOptions = pipelineOptions
                jobOptions.console = pipelineOptions.console.forJob(recipe.recipe.name)
                return try await Pipeline(options: jobOptions).run(recipe)
            }
            return ExitStatus.worst(statuses)
        }
    }
}

/// Runs each recipe through `body`, at most `jobs` at a time, printing each verdict as it lands.
func runConcurrently(
    _ recipes: [LoadedRecipe], jobs: Int,
    _ body: @escaping @Sendable (LoadedRecipe) async throws -> TestOutcome
) async -> [ExitStatus] {
    await withTaskGroup(of: ExitStatus.self) { group in
        var pending = recipes[...]
        var statuses: [ExitStatus] = []
        func startNext() {
            guard let recipe = pending.popFirst() else { return }
            group.addTask {
                do {
                    let outcome = try await body(recipe)
                    printVerdict(outcome)
                    return ExitStatus(outcome.verdict)
                } catch let error as HallmarkError {
                    writeStandardError("hallmark[\(recipe.recipe.name)]: error: \(UntrustedText.forTerminal(String(describing: error)))\n")
                    return ExitStatus(error.code)
                } catch {
                    writeStandardError("hallmark[\(recipe.recipe.name)]: error: \(UntrustedText.forTerminal(String(describing: error)))\n")
                    return .internalError
                }
            }
        }
        for _ in 0..<min(jobs, recipes.count) { startNext() }
        for await status in group {
            statuses.append(status)
            startNext()
        }
        return statuses
    }
}
