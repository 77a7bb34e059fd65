import ArgumentParser
import Foundation
import HallmarkSupport

extension HallmarkCommand {
    /// ArgumentParser's `main`, except that its usage errors are printed in Hallmark's one error shape
    /// (`hallmark: error: …`, exit 64) rather than its own `Error:` and usage block.
    public static func runMain(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as HallmarkError {
            reportError(error)
            exit(withError: ExitCode(ExitStatus(error.code).rawValue))
        } catch {
            // Help, --version and statuses already reported leave as ArgumentParser leaves them.
            guard exitCode(for: error) == .validationFailure, !(error is ExitCode) else { exit(withError: error) }
            writeStandardError("hallmark: error: \(UntrustedText.forTerminal(usageMessage(for: error)))\n")
            exit(withError: ExitCode(ExitStatus.usage.rawValue))
        }
        exit()
    }

    /// ArgumentParser's message on one line, with where to read what is accepted.
    static func usageMessage(for error: any Error) -> String {
        let message = message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
        // The full message ends with "See 'hallmark test --help' for more information."
        let full = fullMessage(for: error)
        if let see = full.range(of: "See '"), let end = full[see.upperBound...].firstIndex(of: "'") {
            return "\(message); see '\(full[see.upperBound..<end])'"
        }
        return "\(message); see 'hallmark --help'"
    }
}

/// Prints an error in the one shape every command uses: `hallmark: error: FILE:LINE:COLUMN: message`.
func reportError(_ error: HallmarkError) {
    reportError(description: error.description)
}

/// An error already put in words (`FILE:LINE:COLUMN: what; what is accepted`), in the one shape on stderr.
func reportError(description: String) {
    writeStandardError("hallmark: error: \(UntrustedText.forTerminal(description))\n")
}

/// Runs a command body, mapping Hallmark's errors to a one-line message and its documented exit code.
func runReportingErrors(_ body: () async throws -> ExitStatus) async throws {
    InterruptHandler.install()
    HallmarkHome.fromEnvironment().removeStaleTemporaryFiles()
    let status: ExitStatus
    do {
        status = try await body()
        await InterruptHandler.waitIfInterrupted()
    } catch let error as HallmarkError {
        await InterruptHandler.waitIfInterrupted()
        reportError(error)
        status = ExitStatus(error.code)
    } catch is CancellationError {
        await InterruptHandler.waitIfInterrupted()
        status = .interrupted
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        // A command's own check of its flags is a usage error however late it is made.
        await InterruptHandler.waitIfInterrupted()
        writeStandardError("hallmark: error: \(UntrustedText.forTerminal(error.message))\n")
        status = .usage
    } catch {
        await InterruptHandler.waitIfInterrupted()
        writeStandardError("hallmark: internal error: \(UntrustedText.forTerminal(HallmarkError.describe(error)))\n")
        status = .internalError
    }
    if status != .gateOpen { throw ExitCode(status.rawValue) }
}
