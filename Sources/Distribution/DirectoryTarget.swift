import Foundation
import HallmarkSupport

/// A file to ship: its name at the target, where it is now, and the sha256 the gate verified.
public struct ShippedFile: Sendable, Equatable {
    public var name: String
    public var source: String
    public var sha256: String

    public init(name: String, source: String, sha256: String) {
        (self.name, self.source, self.sha256) = (name, source, sha256)
    }
}

/// A directory standing in for a region: each build lands in `<root>/<image>/<version>-<build>/`.
/// A file is copied into `<root>/.hallmark-staging/` (same file system), checked, fsynced and
/// renamed into place, so a reader of the build's directory sees no file or the whole file, never
/// part of one. `SHA256SUMS` is written last: its presence says the build is complete. A re-run
/// skips files already there with the right digest and redoes the rest (resumable, idempotent).
public struct DirectoryTarget: Sendable {
    public var root: String

    public init(root: String) {
        self.root = root
    }

    public struct Outcome: Sendable, Equatable {
        public var directory: String
        /// Files copied by this run; the others were already there with the right digest.
        public var copied: [String]
    }

    /// `files` may be named with a path inside the build's directory (`oci/blobs/sha256/<hex>`);
    /// `generated` are small files made for the target (an OCI layout's index), written after them.
    public func publish(_ files: [ShippedFile], subdirectory: String, generated: [(name: String, data: Data)] = []) async throws
        -> Outcome
    {
        let destination = root + "/" + subdirectory
        let staging = root + "/.hallmark-staging/" + subdirectory.replacingOccurrences(of: "/", with: "_")
        do {
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw HallmarkError(.hostFailure, "cannot create \(destination) in the directory target", cause: error)
        }
        var copied: [String] = []
        func makeParent(of name: String) throws {
            guard name.contains("/") else { return }
            try FileManager.default.createDirectory(
                atPath: destination + "/" + (name as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        for file in files {
            let final = destination + "/" + file.name
            if FileManager.default.fileExists(atPath: final), (try? await Digest.sha256(fileAt: final)) == file.sha256 { continue }
            try makeParent(of: file.name)
            try await Self.land(file, aside: staging + "/" + file.name.replacingOccurrences(of: "/", with: "_"), at: final)
            copied.append(file.name)
        }
        for (name, data) in generated where FileManager.default.contents(atPath: destination + "/" + name) != data {
            try makeParent(of: name)
            let aside = staging + "/" + name.replacingOccurrences(of: "/", with: "_")
            try Self.write(data, to: aside)
            try Self.rename(aside, to: destination + "/" + name)
            copied.append(name)
        }
        let sums = (files.map { "\($0.sha256)  \($0.name)\n" } + generated.map { "\(Digest.sha256($0.data))  \($0.name)\n" }).joined()
        let sumsPath = destination + "/SHA256SUMS"
        if (try? String(contentsOfFile: sumsPath, encoding: .utf8)) != sums {
            let aside = staging + "/SHA256SUMS"
            try Self.write(Data(sums.utf8), to: aside)
            try Self.rename(aside, to: sumsPath)
            copied.append("SHA256SUMS")
        }
        try? FileManager.default.removeItem(atPath: staging)
        return Outcome(directory: destination, copied: copied)
    }

    /// Copies in 1 MiB pieces and fsyncs, so the rename that follows publishes data already on disk.
    /// Copies `file` to `aside`, checks the copy against the digest the gate verified, and renames
    /// it to `final`: what lands is what was verified, not whatever the source became since, and a
    /// reader of `final` never sees a partial file.
    static func land(_ file: ShippedFile, aside: String, at final: String) async throws {
        try? FileManager.default.removeItem(atPath: aside)
        try copy(file.source, to: aside)
        let digest = try await Digest.sha256(fileAt: aside)
        guard digest == file.sha256 else {
            try? FileManager.default.removeItem(atPath: aside)
            throw HallmarkError(
                .hostFailure, "\(file.source) changed after verification (sha256 \(digest), verified \(file.sha256)); not shipped")
        }
        try rename(aside, to: final)
    }

    static func copy(_ source: String, to path: String) throws {
        guard let input = FileHandle(forReadingAtPath: source) else {
            throw HallmarkError(.hostFailure, "cannot read \(source) to ship it")
        }
        defer { try? input.close() }
        guard FileManager.default.createFile(atPath: path, contents: nil), let output = FileHandle(forWritingAtPath: path) else {
            throw HallmarkError(.hostFailure, "cannot write \(path) in the directory target")
        }
        defer { try? output.close() }
        do {
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty { try output.write(contentsOf: chunk) }
            try output.synchronize()
        } catch {
            throw HallmarkError(.hostFailure, "cannot copy \(source) to \(path)", cause: error)
        }
    }

    static func write(_ data: Data, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: data), let output = FileHandle(forWritingAtPath: path) else {
            throw HallmarkError(.hostFailure, "cannot write \(path) in the directory target")
        }
        defer { try? output.close() }
        try output.synchronize()
    }

    /// rename(2) replaces the target in one step; the directory is fsynced so the new entry survives a crash.
    static func rename(_ from: String, to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw HallmarkError(.hostFailure, "cannot rename \(from) to \(to): \(String(cString: strerror(errno)))")
        }
        let directory = open((to as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else { return }
        defer { close(directory) }
        fsync(directory)
    }
}
