import Foundation
import HallmarkModel
import HallmarkSupport

/// TOE's S3Upload: the files a `source` names are found and read inside the image by the executor
/// (so a chroot's paths resolve in the tree, a guest's on the machine), every one checked as the
/// other file actions check their paths, then sent from the host with the `aws` CLI, so the
/// standard AWS settings apply as they do for S3Download (`AWS_ENDPOINT_URL`, `AWS_PROFILE`,
/// credentials in the environment or `~/.aws`).
///
/// A `source` is a file (to `destination` as the key, or under it when it ends in '/'), a folder
/// (its files, with `recurse: true`), or a '*' or '?' wildcard in its last name: the matching
/// files, and with `recurse: true` the files of the matching folders too, under the
/// `destination` prefix with their path below the source's folder.
enum S3Upload {
    /// Exit codes of the listing script, each a failure TOE reports.
    static let missing: Int32 = 2, folderWithoutRecurse: Int32 = 3, noMatch: Int32 = 4

    static func run(
        _ step: Component.Step, resolve: (String) -> String?, on executor: some StepExecutor, scratch: String, log: (String) -> Void
    ) async throws -> String {
        let timeout = step.timeoutSeconds.map { Duration.seconds($0) } ?? ComponentRunner.noTimeout
        var uploaded: [String] = []
        for entry in try TransferEntry.entries(of: step, resolve: resolve) {
            let (source, destination, failure) = (entry.source, entry.destination, entry.failure)
            let recurse = entry.isSet("recurse")
            let owner = entry.setting("expectedBucketOwner")
            if executor.downloadRefusal != nil { throw failure("is not uploaded: the recipe says build: {network: false}") }
            guard destination.hasPrefix("s3://"), destination.count > 5 else {
                throw failure("has destination '\(destination)', which is not s3://bucket/key or a prefix ending in '/'")
            }
            let pattern = Pattern(source)
            let listing = try await executor.run(bashScript: listScript(pattern, recurse: recurse), timeout: timeout)
            switch listing.exitCode {
            case 0: break
            case missing: throw failure("does not exist in the image")
            case folderWithoutRecurse: throw failure("is a folder; S3Upload uploads a folder with recurse: true")
            case noMatch: throw failure("matches no file" + (recurse ? "" : " (matching folders are uploaded with recurse: true)"))
            default: throw failure("could not be listed: \(said(listing))")
            }
            // (path in the image, key below the destination prefix) of every file found.
            var files: [(String, String)] = []
            for path in listing.stdout.split(separator: "\0").map(String.init) where !path.isEmpty {
                let base = pattern.base == "/" ? "/" : pattern.base + "/"
                let isSource = !pattern.isWildcard && path == pattern.path
                guard isSource || path.hasPrefix(base), !path.split(separator: "/").contains("..") else {
                    throw failure("was listed as '\(path)', which is not below \(pattern.base)")
                }
                if let reason = executor.refusal(ofPath: path) { throw failure("matches '\(path)', which is refused: \(reason)") }
                files.append((path, isSource ? (path as NSString).lastPathComponent : String(path.dropFirst(base.count))))
            }
            if files.isEmpty {
                log("\(source) holds no file to upload")
                continue
            }
            let folder = scratch + "/s3-upload-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder + "/files", withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            for (path, key) in files {
                let local = folder + "/files/" + key
                try FileManager.default.createDirectory(
                    atPath: (local as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                let copied = try await executor.copyOut(path, to: local, timeout: timeout)
                guard copied.exitCode == 0 else { throw failure("could not be read: '\(path)': \(said(copied))") }
            }
            // One file to one key; otherwise every file under the prefix, in one call.
            let single = !pattern.isWildcard && files.count == 1 && files[0].0 == pattern.path
            let prefix = destination.hasSuffix("/") ? destination : destination + "/"
            var arguments = ["s3", "cp", "--only-show-errors"]
            if !single { arguments.append("--recursive") }
            if let owner { arguments += ["--expected-bucket-owner", owner] }
            let target = single ? (destination.hasSuffix("/") ? destination + files[0].1 : destination) : prefix
            arguments += [single ? folder + "/files/" + files[0].1 : folder + "/files/", target]
            log("uploading \(source) to \(target)")
            let output = folder + "/aws.out"
            let termination = try await ChildProcess.spawn(HostCommand("aws", arguments), outputPath: output).wait()
            guard termination.succeeded else {
                let text = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                throw failure("could not be uploaded to \(target): \(text.isEmpty ? "\(termination)" : text)")
            }
            uploaded += single ? [target] : files.map { prefix + $0.1 }
        }
        return uploaded.joined(separator: "\n")
    }

    private static func said(_ output: StepOutput) -> String {
        let text = (output.stderr.isEmpty ? output.stdout : output.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "exit code \(output.exitCode)" : text
    }

    /// A source split as TOE reads it: a wildcard only in the last name.
    struct Pattern {
        /// The folder the keys are relative to: the wildcard's folder, the folder itself, or a file's folder.
        var base: String
        /// The last name when it holds a wildcard.
        var wildcard: String?
        var path: String

        var isWildcard: Bool { wildcard != nil }

        init(_ source: String) {
            var path = source
            while path.count > 1, path.hasSuffix("/") { path.removeLast() }
            self.path = path
            let name = (path as NSString).lastPathComponent
            let parent = (path as NSString).deletingLastPathComponent
            if name.contains("*") || name.contains("?") {
                wildcard = name
                base = parent.isEmpty ? "/" : parent
            } else {
                wildcard = nil
                base = path
            }
        }
    }

    /// The script that prints, NUL-separated and sorted, every file `pattern` names; a file
    /// source prints itself, and the caller treats its folder as the base.
    static func listScript(_ pattern: Pattern, recurse: Bool) -> String {
        let files = "find \"$1\" -mindepth 1 -xtype f -print0 | sort -z"
        var lines = ["set -e -o pipefail", "shopt -s nullglob dotglob", "walk() { \(files); }"]
        if let wildcard = pattern.wildcard {
            let glob = wildcard.map { $0 == "*" || $0 == "?" ? String($0) : "\\" + String($0) }.joined()
            let base = shellQuoted(pattern.base)
            let prefix = pattern.base == "/" ? "" : pattern.base
            lines += [
                "[ -d \(base) ] || exit \(missing)",
                "cd -- \(base)",
                "found=0",
                "for match in \(glob); do",
                "  if [ -d \"$match\" ]; then",
                recurse ? "    found=1; walk \(shellQuoted(prefix))/\"$match\"" : "    :",
                "  elif [ -f \"$match\" ]; then",
                "    found=1; printf '%s\\0' \(shellQuoted(prefix))/\"$match\"",
                "  fi",
                "done",
                "[ \"$found\" = 1 ] || exit \(noMatch)",
            ]
        } else {
            let path = shellQuoted(pattern.path)
            lines += [
                "if [ -d \(path) ]; then",
                recurse ? "  walk \(path)" : "  exit \(folderWithoutRecurse)",
                "elif [ -f \(path) ]; then",
                "  printf '%s\\0' \(path)",
                "else",
                "  exit \(missing)",
                "fi",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
