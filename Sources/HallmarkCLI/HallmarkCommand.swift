import ArgumentParser
import Foundation
import Pipeline

/// The `hallmark` command and its subcommands.
public struct HallmarkCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hallmark",
        abstract: "Build machine images from recipes, boot them in QEMU, prove them against compliance policies, and report.",
        discussion: """
            Results go to stdout; progress, warnings and errors to stderr. --json on the commands that \
            print results or lists gives one JSON object instead. Shell completion: \
            hallmark --generate-completion-script bash|zsh|fish.

            Exit codes: 0 gate open, 1 gate closed (a control failed), 2 checks could not be evaluated, \
            3 build or VM failure, 64 usage, 65 invalid recipe/component/policy, 69 missing host tool, \
            70 internal error, 77 needs root, 130 interrupted (SIGINT), 143 terminated (SIGTERM).
            """,
        // The one version constant: report.json carries the same (tool.version).
        version: Pipeline.toolVersion,
        subcommands: [
            RunCommand.self, BuildCommand.self, TestCommand.self, ShellCommand.self, StopCommand.self, PolicyCommand.self,
            ComponentCommand.self, KeyCommand.self,
            VerifyCommand.self, CacheCommand.self, ImagesCommand.self, PipelineCommand.self, DistributeCommand.self, LifecycleCommand.self,
        ])

    public init() {}
}
