import ArgumentParser

/// `hallmark pipeline`: release pipelines read from YAML.
struct PipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Release pipelines: build, test, sign, verify and distribute an image.",
        subcommands: [Check.self, Run.self])
}
