import ArgumentParser

/// `hallmark component`: TOE component documents without a whole build.
struct ComponentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component", abstract: "Work with AWS TOE component documents without a whole build.",
        subcommands: [ComponentValidateCommand.self, ComponentRunCommand.self])
}
