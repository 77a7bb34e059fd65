import ArgumentParser
import HallmarkSupport
import ImageStore
import Pipeline

/// `hallmark test`: boot a build that exists and prove it; the exit code is the gate.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Test the newest (or a given) build of the recipe's image: boot, check, report.")

    @Argument(help: "Recipe file (YAML).") var recipe: String
    @Option(help: "Build number to test (default: the newest).") var build: Int?
    @OptionGroup var output: OutputOptions
    @OptionGroup var machine: MachineOptions
    @OptionGroup var evidence: EvidenceOptions

    func run() async throws {
        try await runReportingErrors {
            let loaded = try LoadedRecipe.load(path: recipe)
            let pipelineOptions = PipelineOptions(output: output, machine: machine, evidence: evidence)
            let store = ImageStore(home: pipelineOptions.home)
            let name = loaded.recipe.name, version = loaded.recipe.version.description
            let builds = store.builds(name: name, version: version)
            guard let number = build ?? builds.last, builds.contains(number) else {
                throw HallmarkError(
                    .usage, "no build\(build.map { " \($0)" } ?? "") of \(name) \(version) exists; run `hallmark build \(recipe)` first")
            }
            let image = try ImageArtifacts.load(directory: store.directory(name: name, version: version, build: number))
            let outcome = try await Pipeline(options: pipelineOptions).test(loaded, image: image)
            printVerdict(outcome)
            return ExitStatus(outcome.verdict)
        }
    }
}
