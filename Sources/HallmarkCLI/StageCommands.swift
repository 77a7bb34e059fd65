import ArgumentParser
import Foundation
import HallmarkSupport
import ImageBuild
import ImageStore
import Pipeline

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
    @OptionGroup var options: StageOptions

    func validate() throws {
        guard !recipes.isEmpty else { throw ValidationError("name at least one recipe") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        try await runReportingErrors {
            // Every input is validated before anything is built or booted.
            let loaded = try recipes.map(LoadedRecipe.load)
            let pipelineOptions = options.pipelineOptions()
            if loaded.count == 1 {
                let outcome = try await Pipeline(options: pipelineOptions).run(loaded[0])
                printVerdict(outcome)
                return outcome.exitStatus
            }
            let statuses = await runConcurrently(loaded, jobs: jobs) { recipe in
                var jobOptions = pipelineOptions
                jobOptions.console = pipelineOptions.console.forJob(recipe.recipe.name)
                return try await Pipeline(options: jobOptions).run(recipe)
            }
            return worst(statuses)
        }
    }
}

/// Runs each recipe through `body`, at most `jobs` at a time, printing each verdict as it lands.
func runConcurrently(_ recipes: [LoadedRecipe], jobs: Int,
                     _ body: @escaping @Sendable (LoadedRecipe) async throws -> TestOutcome) async -> [ExitStatus] {
    await withTaskGroup(of: ExitStatus.self) { group in
        var pending = recipes[...]
        var statuses: [ExitStatus] = []
        func startNext() {
            guard let recipe = pending.popFirst() else { return }
            group.addTask {
                do {
                    let outcome = try await body(recipe)
                    printVerdict(outcome)
                    return outcome.exitStatus
                } catch let error as HallmarkError {
                    writeStandardError("hallmark[\(recipe.recipe.name)]: error: \(UntrustedText.forTerminal(String(describing: error)))\n")
                    return error.status
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

/// The exit status that summarises several runs.
func worst(_ statuses: [ExitStatus]) -> ExitStatus {
    if let error = statuses.first(where: { ![.gateOpen, .gateClosed, .notEvaluated].contains($0) }) { return error }
    if statuses.contains(.gateClosed) { return .gateClosed }
    if statuses.contains(.notEvaluated) { return .notEvaluated }
    return .gateOpen
}

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build the recipe's image into $HALLMARK_HOME/images without testing it.")

    @Argument(help: "Recipe file (YAML).") var recipe: String
    @OptionGroup var options: StageOptions

    func run() async throws {
        try await runReportingErrors {
            let loaded = try LoadedRecipe.load(path: recipe)
            let (artifacts, _, _) = try await Pipeline(options: options.pipelineOptions()).build(loaded)
            print("built \(artifacts.reference): \(artifacts.directory)")
            return .gateOpen
        }
    }
}

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Test the newest (or a given) build of the recipe's image: boot, check, report.")

    @Argument(help: "Recipe file (YAML).") var recipe: String
    @Option(help: "Build number to test (default: the newest).") var build: Int?
    @OptionGroup var options: StageOptions

    func run() async throws {
        try await runReportingErrors {
            let loaded = try LoadedRecipe.load(path: recipe)
            let pipelineOptions = options.pipelineOptions()
            let store = ImageStore(home: pipelineOptions.home)
            let name = loaded.recipe.name, version = loaded.recipe.version.description
            let number = build ?? store.builds(name: name, version: version).last
            guard let number, store.builds(name: name, version: version).contains(number) else {
                throw HallmarkError(.usage, "no build\(build.map { " \($0)" } ?? "") of \(name) \(version) exists; run `hallmark build \(recipe)` first")
            }
            let image = try ImageArtifacts.load(directory: store.directory(name: name, version: version, build: number))
            let outcome = try await Pipeline(options: pipelineOptions).test(loaded, image: image)
            printVerdict(outcome)
            return outcome.exitStatus
        }
    }
}
