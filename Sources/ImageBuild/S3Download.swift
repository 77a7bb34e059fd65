import Foundation
import HallmarkModel
import HallmarkSupport

/// TOE's S3Download: objects are fetched on the host with the `aws` CLI, so the standard AWS
/// settings apply as they are (`AWS_ENDPOINT_URL`, `AWS_PROFILE`, credentials in the environment
/// or `~/.aws`), and each file is then placed inside the tree by the executor. A source ending in
/// `/*` is every object under that prefix, into `destination` as a folder, keeping the key's path.
enum S3Download {
    static func run(
        _ step: Component.Step, resolve: (String) -> String?, on executor: some StepExecutor, scratch: String, log: (String) -> Void
    ) async throws -> String {
        var placed: [String] = []
        for entry in try TransferEntry.entries(of: step, resolve: resolve) {
            let (source, destination, failure) = (entry.source, entry.destination, entry.failure)
            let overwrite = entry.isSet("overwrite")
            let owner = entry.setting("expectedBucketOwner")
            if let refusal = executor.downloadRefusal { throw failure(refusal) }
            let folder = scratch + "/s3-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let prefix = source.hasSuffix("/*")
            let local = prefix ? folder + "/objects" : folder + "/object"
            var arguments = ["s3", "cp", "--only-show-errors"]
            if prefix { arguments.append("--recursive") }
            if let owner { arguments += ["--expected-bucket-owner", owner] }
            arguments += [prefix ? String(source.dropLast()) : source, local]
            log("downloading \(source)")
            let said = folder + "/aws.out"
            let termination = try await ChildProcess.spawn(HostCommand("aws", arguments), outputPath: said).wait()
            guard termination.succeeded else {
                let text = ((try? String(contentsOfFile: said, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                throw failure("could not be downloaded: \(text.isEmpty ? "\(termination)" : text)")
            }
            // (host file, path in the image) for every object fetched.
            var files: [(String, String)] = []
            if prefix {
                let names = (FileManager.default.enumerator(atPath: local)?.allObjects as? [String] ?? []).sorted()
                for name in names
                where (try? FileManager.default.attributesOfItem(atPath: local + "/" + name)[.type] as? FileAttributeType) == .typeRegular {
                    files.append((local + "/" + name, (destination.hasSuffix("/") ? destination : destination + "/") + name))
                }
                if files.isEmpty { throw failure("matches no object") }
            } else {
                let name = (source as NSString).lastPathComponent
                files.append((local, destination.hasSuffix("/") ? destination + name : destination))
            }
            for (file, path) in files {
                if path.split(separator: "/").contains("..") { throw failure("has a key with '..', which is not placed: '\(path)'") }
                if let reason = executor.refusal(ofPath: path) {
                    throw failure("would be written to '\(path)', which is refused: \(reason)")
                }
                if let refused = try await executor.placeFetched(file, at: path, overwrite: overwrite, step: step) {
                    throw failure("could not be written to '\(path)': \(refused)")
                }
                placed.append(path)
            }
        }
        return placed.joined(separator: "\n")
    }
}
