import ArgumentParser
import HallmarkSupport

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
        status = ExitStatus(error.code)
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
