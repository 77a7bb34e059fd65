import ArgumentParser
import Foundation
import HallmarkModel
import HallmarkSupport

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Work with policy files without booting anything.", subcommands: [Lint.self])

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check policy files: schema, unknown keys, duplicate ids, bad regular expressions (file:line:column).")

        @Argument(help: "Policy files.") var files: [String]

        func run() async throws {
            try await runReportingErrors {
                var failed = false
                for file in files {
                    do {
                        let policy = try Policy.load(path: absolutePath(file))
                        print("\(file): ok (\(policy.controls.count) controls)")
                    } catch let error as HallmarkError {
                        print("\(error)")
                        failed = true
                    }
                }
                return failed ? .invalidInput : .gateOpen
            }
        }
    }
}
