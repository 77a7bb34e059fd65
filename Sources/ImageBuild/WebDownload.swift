import Foundation
import HallmarkModel
import HallmarkSupport

/// TOE's WebDownload: each entry's `source` is fetched on the host (the tree need not have a
/// downloader), checked against its `checksum`, and only then placed at `destination` inside the
/// tree by the executor, so a bad download never reaches the image.
enum WebDownload {
    /// The algorithms TOE names, as `openssl dgst` spells them.
    static let algorithms = ["MD5": "-md5", "SHA1": "-sha1", "SHA256": "-sha256", "SHA512": "-sha512"]

    /// Tries per entry: transient failures (refused connections, timeouts, 408, 429, 5xx) are retried; a 404 is not.
    static let tries = 3

    /// Runs every entry in order and throws at the first that fails, naming it; the
    /// destinations placed are returned, one a line, as the step's output.
    static func run(
        _ step: Component.Step, resolve: (String) -> String?, on executor: some StepExecutor, scratch: String, log: (String) -> Void
    ) async throws -> String {
        var placed: [String] = []
        for entry in try TransferEntry.entries(of: step, resolve: resolve) {
            let (source, failure) = (entry.source, entry.failure)
            var destination = entry.destination
            let overwrite = entry.isSet("overwrite")
            let checksum = entry.setting("checksum")?.lowercased()
            let algorithm = entry.setting("algorithm")?.uppercased()
            // A destination ending in '/' is a folder: the file keeps the name the URL gives it.
            if destination.hasSuffix("/") {
                guard let name = URL(string: source)?.lastPathComponent, !name.isEmpty, name != "/" else {
                    throw failure("names no file, and destination '\(destination)' is a folder")
                }
                destination += name
            }
            if let refusal = executor.downloadRefusal { throw failure(refusal) }
            let temporary = scratch + "/download-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: temporary) }
            log("downloading \(source)")
            let errors = temporary + ".err"
            defer { try? FileManager.default.removeItem(atPath: errors) }
            let curl = HostCommand(
                "curl",
                [
                    "--fail", "--silent", "--show-error", "--location", "--retry", String(tries - 1), "--retry-connrefused",
                    "--retry-delay", "1",
                    "--connect-timeout", "30", "--output", temporary, "--", source,
                ])
            let termination = try await ChildProcess.spawn(curl, outputPath: errors).wait()
            guard termination.succeeded else {
                let said = ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                throw failure("could not be downloaded: \(said.isEmpty ? "\(termination)" : said)")
            }
            if let checksum, let algorithm, let flag = algorithms[algorithm] {
                let output = try await HostCommand("openssl", ["dgst", flag, "-r", "--", temporary]).output()
                let actual = output.split(separator: " ").first.map(String.init) ?? ""
                guard actual == checksum else {
                    throw failure("has \(algorithm) \(actual), not the checksum \(checksum); nothing was written")
                }
            }
            if let refused = try await executor.placeFetched(temporary, at: destination, overwrite: overwrite, step: step) {
                throw failure("could not be written to '\(destination)': \(refused)")
            }
            placed.append(destination)
        }
        return (placed.joined(separator: "\n"))
    }

    /// The script that puts a file (at `from`, readable where the script runs) at `destination`;
    /// without overwrite an existing destination is an error, as in TOE.
    static func placeScript(from: String, to destination: String, overwrite: Bool) -> String {
        let target = shellQuoted(destination)
        return "set -e\n"
            + (overwrite
                ? "" : "if [ -e \(target) ] || [ -L \(target) ]; then echo \(target) exists and overwrite is false >&2; exit 1; fi\n")
            + "mkdir -p -- \"$(dirname -- \(target))\"\ncat -- \(shellQuoted(from)) > \(target)\n"
    }
}
