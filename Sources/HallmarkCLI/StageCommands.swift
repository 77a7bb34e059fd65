import ArgumentParser
import Foundation
import HallmarkSupport
import ImageBuild
import Pipeline

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Build the recipe's image, then test it: the exit code is the gate.")

    @Argument(help: "Recipe file (YAML).") var recipe: String
    @OptionGroup var options: StageOptions

    func run() async throws {
        try await runReportingErrors {
            let loaded = try LoadedRecipe.load(path: recipe)
            let outcome = try await Pipeline(options: options.pipelineOptions()).run(loaded)
            printVerdict(outcome)
            return outcome.exitStatus
        }
    }
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
