import ArgumentParser
import Pipeline

/// `hallmark build`: the next build number of the image, untested; it takes no VM or evidence options.
struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build the recipe's image into $HALLMARK_HOME/images without testing it.")

    @Argument(help: "Recipe file (YAML).") var recipe: String
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await runReportingErrors {
            let loaded = try LoadedRecipe.load(path: recipe)
            let (artifacts, _, _) = try await Pipeline(options: PipelineOptions(output: output)).build(loaded)
            print("built \(artifacts.reference): \(artifacts.directory)")
            return .gateOpen
        }
    }
}
