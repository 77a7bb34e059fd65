import Foundation
import HallmarkSupport

/// Runs a command and reports its exit status and combined output instead of throwing on failure.
public func runCapturingOutput(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws
    -> (status: Termination, output: String)
{
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-command-\(UUID().uuidString).out").path
    defer { try? FileManager.default.removeItem(atPath: log) }
    let child = try ChildProcess.spawn(HostCommand(executable, arguments, environment: environment), outputPath: log)
    let status = await child.wait()
    return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
}
