import Foundation
import HallmarkSupport

/// `manifest.json` beside an image's outputs: every file of the image directory but `image.json`
/// and itself, with its size and sha256 (hashed once, right after the build wrote it), and one
/// entry per output saying whether a test boots it or it is derived from the booted disk's tree.
/// The format is a contract with readers outside Hallmark (ARCHITECTURE.md: the image directory).
public struct OutputManifest: Codable, Sendable, Equatable {
    public static let fileName = "manifest.json"

    public var schemaVersion = 1
    public var name: String
    public var version: String
    public var build: Int
    /// Every archive's timestamps are clamped to this; the OCI image's creation time.
    public var sourceDateEpoch: Int
    public var outputs: [Output]
    /// Sorted by path.
    public var files: [File]

    public struct Output: Codable, Sendable, Equatable {
        public var format: OutputFormat
        /// Relative to the image directory: a file, or the OCI layout's directory.
        public var path: String
        public var evidence: OutputEvidence
        /// The file's size and sha256; for `oci`, those of the image manifest the tag points at.
        public var sizeBytes: UInt64
        public var sha256: String
        /// `oci` only: the tag (the recipe's version) and the digest of its one layer.
        public var tag: String?
        public var layerSHA256: String?

        public init(
            format: OutputFormat, path: String, sizeBytes: UInt64, sha256: String, tag: String? = nil, layerSHA256: String? = nil
        ) {
            self.format = format
            self.path = path
            self.evidence = format.evidence
            self.sizeBytes = sizeBytes
            self.sha256 = sha256
            self.tag = tag
            self.layerSHA256 = layerSHA256
        }
    }

    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var sizeBytes: UInt64
        public var sha256: String

        public init(path: String, sizeBytes: UInt64, sha256: String) {
            self.path = path
            self.sizeBytes = sizeBytes
            self.sha256 = sha256
        }
    }

    public init(name: String, version: String, build: Int, sourceDateEpoch: Int, outputs: [Output], files: [File]) {
        self.name = name
        self.version = version
        self.build = build
        self.sourceDateEpoch = sourceDateEpoch
        self.outputs = outputs
        self.files = files.sorted { $0.path < $1.path }
    }

    public func file(_ path: String) -> File? { files.first { $0.path == path } }

    /// Hashes every regular file under `directory` once (but `image.json` and the manifest itself).
    public static func hashFiles(in directory: String) async throws -> [File] {
        var files: [File] = []
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw HallmarkError(.hostFailure, "cannot list \(directory)")
        }
        var paths: [String] = []
        while let relative = walker.nextObject() as? String {
            guard walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular,
                relative != fileName, relative != "image.json"
            else { continue }
            paths.append(relative)
        }
        // One file per core at a time: a disk's digest takes seconds of one core's time.
        try await withThrowingTaskGroup(of: File.self) { group in
            var waiting = paths.sorted()[...]
            func hashNext() throws {
                guard let relative = waiting.popFirst() else { return }
                let path = directory + "/" + relative
                let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
                group.addTask { File(path: relative, sizeBytes: size, sha256: try await Digest.sha256(fileAt: path)) }
            }
            for _ in 0..<max(1, ProcessInfo.processInfo.activeProcessorCount) { try hashNext() }
            while let file = try await group.next() {
                files.append(file)
                try hashNext()
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    public func write(to directory: String) throws {
        try JSONEncoder.hallmark.encode(self).write(to: URL(fileURLWithPath: directory + "/" + Self.fileName))
    }

    public static func load(directory: String) throws -> OutputManifest {
        let path = directory + "/" + fileName
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HallmarkError(.usage, "\(directory) has no \(fileName)")
        }
        return try JSONDecoder.hallmark.decode(OutputManifest.self, from: data)
    }
}

extension ImageArtifacts {
    /// A file the signed report names: its role (its subject's name after the image prefix), where
    /// it is, and whether a test boots it.
    public struct EvidenceFile: Sendable, Equatable {
        public var role: String
        public var path: String
        public var evidence: OutputEvidence
        /// The digest manifest.json recorded when the build wrote it (derived outputs only: the
        /// booted files are hashed again by whoever reads them).
        public var recordedSHA256: String?
        public var sizeBytes: UInt64?
    }

    /// The booted files by role, then the outputs derived from the same tree: `rootfs.tar`, and for
    /// `oci` the image manifest its tag points at (which names the config and layer by digest).
    public func evidenceFiles() -> [EvidenceFile] {
        var files = self.files.keys.sorted().map { EvidenceFile(role: $0, path: path($0)!, evidence: .booted) }
        guard let manifest = try? OutputManifest.load(directory: directory) else { return files }
        for output in manifest.outputs where output.evidence == .derived {
            let file = output.format == .oci ? output.path + "/blobs/sha256/" + output.sha256 : output.path
            files.append(
                EvidenceFile(
                    role: output.format.artifactName, path: directory + "/" + file, evidence: .derived, recordedSHA256: output.sha256,
                    sizeBytes: output.sizeBytes))
        }
        return files
    }
}
