import ArgumentParser

/// `hallmark policy`: policy files without booting anything.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Work with policy files without booting anything.", subcommands: [Lint.self, Test.self])
}
