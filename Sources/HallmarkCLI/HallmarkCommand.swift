import ArgumentParser
import Foundation
import HallmarkSupport

/// The `hallmark` command and its subcommands.
public struct HallmarkCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "hallmark",
        abstract: "Build machine images from recipes, boot them in QEMU, prove them against compliance policies, and report.",
        discussion: """
            Exit codes: 0 gate open, 1 gate closed (a control failed), 2 checks could not be evaluated,
            3 build or VM failure, 64 usage, 65 invalid recipe/component/policy, 69 missing host tool,
            70 internal error, 130 interrupted, 143 terminated.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, BuildCommand.self, TestCommand.self, ShellCommand.self, StopCommand.self, PolicyCommand.self, KeyCommand.self, VerifyCommand.self])

    public init() {}
}

/// Runs a command body, mapping Hallmark's errors to a one-line message and its documented exit code.
func runReportingErrors(_ body: () async throws -> ExitStatus) async throws {
    InterruptHandler.install()
    let status: ExitStatus
    do {
        status = try await body()
        await InterruptHandler.waitIfInterrupted()
    } catch let error as HallmarkError {
        await InterruptHandler.waitIfInterrupted()
        writeStandardError("hallmark: error: \(UntrustedText.forTerminal(error.description))\n")
        status = error.status
    } catch is CancellationError {
        await InterruptHandler.waitIfInterrupted()
        status = .interrupted
    } catch let error as ExitCode {
        throw error
    } catch {
        await InterruptHandler.waitIfInterrupted()
        writeStandardError("hallmark: internal error: \(UntrustedText.forTerminal(String(describing: error)))\n")
        status = .internalError
    }
    if status != .gateOpen { throw ExitCode(status.rawValue) }
}
