import ArgumentParser

/// `hallmark key`: the signing key's commands.
struct KeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key", abstract: "Manage the Ed25519 key that signs reports.", subcommands: [Generate.self])
}
