import Foundation
import HallmarkSupport

/// An OCI image layout directory (image-spec 1.1): the build's files pushed as one OCI artifact
/// (its own artifactType, one layer per file, the empty config), and the DSSE envelope and
/// report.json as two more artifacts whose `subject` is that manifest, i.e. its referrers; the
/// layout's index.json lists all three, the artifact tagged `<version>-<build>`. Blobs are staged,
/// checked, fsynced and renamed first; index.json is replaced last, in one rename, so a reader
/// sees the build whole or not at all. A re-run writes only what is missing.
public struct OCILayoutTarget: Sendable {
    public var root: String

    public init(root: String) {
        self.root = root
    }

    public static let diskArtifactType = "application/vnd.hallmark.image.v1"
    public static let envelopeArtifactType = "application/vnd.dsse.envelope.v1+json"
    public static let reportArtifactType = "application/vnd.hallmark.report.v1+json"
    static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
    static let emptyConfig = (mediaType: "application/vnd.oci.empty.v1+json", data: Data("{}".utf8))

    public struct Outcome: Sendable, Equatable {
        /// The artifact manifest's digest (`sha256:…`) and tag.
        public var manifestDigest: String
        public var tag: String
        /// Blobs and files this run wrote; empty when the build was already complete.
        public var written: [String]
    }

    public func publish(_ release: VerifiedRelease) async throws -> Outcome {
        let candidate = release.candidate
        let tag = "\(candidate.version)-\(candidate.build)"
        var written: [String] = []
        try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        if (try? String(contentsOfFile: root + "/oci-layout", encoding: .utf8)) == nil {
            try put(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), at: root + "/oci-layout")
            written.append("oci-layout")
        }
        let config = try await blob(Self.emptyConfig.data, written: &written)

        let imageFiles = release.files.filter { $0.name != ReleaseGate.reportName && $0.name != ReleaseGate.envelopeName }
        var layers: [[String: Any]] = []
        for file in imageFiles {
            layers.append(try await layer(file, mediaType: Self.layerMediaType(file.name), written: &written))
        }
        let annotations = [
            "org.opencontainers.image.title": candidate.image, "org.opencontainers.image.version": candidate.version,
            "dev.hallmark.build": String(candidate.build),
        ]
        let disk = try await manifest(
            artifactType: Self.diskArtifactType, config: config, layers: layers, subject: nil, annotations: annotations, written: &written)

        var referrers: [[String: Any]] = []
        for (name, type) in [(ReleaseGate.envelopeName, Self.envelopeArtifactType), (ReleaseGate.reportName, Self.reportArtifactType)] {
            guard let file = release.files.first(where: { $0.name == name }) else { continue }
            let content = try await layer(file, mediaType: type, written: &written)
            referrers.append(
                try await manifest(
                    artifactType: type, config: config, layers: [content], subject: disk, annotations: [:], written: &written))
        }

        var taggedDisk = disk
        taggedDisk["annotations"] = ["org.opencontainers.image.ref.name": tag]
        let ours = [taggedDisk] + referrers
        let existing =
            ((try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/index.json")))) as? [String: Any])
        let oursDigests = Set(ours.compactMap { $0["digest"] as? String })
        // Earlier builds stay; this tag now names this build; entries already there are not doubled.
        let kept = (existing?["manifests"] as? [[String: Any]] ?? []).filter { entry in
            !oursDigests.contains(entry["digest"] as? String ?? "")
                && (entry["annotations"] as? [String: Any])?["org.opencontainers.image.ref.name"] as? String != tag
        }
        let index: [String: Any] = ["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": kept + ours]
        let indexData = try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])
        let current = existing.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .withoutEscapingSlashes]) }
        if current != indexData {
            try put(indexData, at: root + "/index.json")
            written.append("index.json")
        }
        try? FileManager.default.removeItem(atPath: staging)
        return Outcome(manifestDigest: disk["digest"] as! String, tag: tag, written: written)
    }

    /// The media type of a file's layer, after its role.
    static func layerMediaType(_ role: String) -> String {
        switch role {
        case "disk.qcow2": "application/vnd.hallmark.disk.qcow2"
        case "disk.raw": "application/vnd.hallmark.disk.raw"
        case "vmlinuz": "application/vnd.hallmark.kernel"
        case "initrd.img": "application/vnd.hallmark.initrd"
        default: "application/octet-stream"
        }
    }

    private var staging: String { root + "/.hallmark-staging" }
    private func blobPath(_ hex: String) -> String { root + "/blobs/sha256/" + hex }

    /// Writes bytes as a blob unless it is there; returns its descriptor.
    private func blob(_ data: Data, mediaType: String = Self.emptyConfig.mediaType, written: inout [String]) async throws -> [String: Any] {
        let hex = Digest.sha256(data)
        let path = blobPath(hex)
        if (try? await Digest.sha256(fileAt: path)) != hex {
            try put(data, at: path)
            written.append("sha256:" + hex)
        }
        return ["mediaType": mediaType, "digest": "sha256:" + hex, "size": data.count]
    }

    /// Copies a shipped file in as a blob, checked against the digest the gate verified.
    private func layer(_ file: ShippedFile, mediaType: String, written: inout [String]) async throws -> [String: Any] {
        let path = blobPath(file.sha256)
        if (try? await Digest.sha256(fileAt: path)) != file.sha256 {
            try await DirectoryTarget.land(file, aside: staging + "/" + file.sha256, at: path)
            written.append("sha256:" + file.sha256)
        }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        return [
            "mediaType": mediaType, "digest": "sha256:" + file.sha256, "size": size,
            "annotations": ["org.opencontainers.image.title": file.name],
        ]
    }

    private func manifest(
        artifactType: String, config: [String: Any], layers: [[String: Any]], subject: [String: Any]?, annotations: [String: String],
        written: inout [String]
    ) async throws -> [String: Any] {
        var manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": Self.manifestMediaType, "artifactType": artifactType, "config": config, "layers": layers,
        ]
        if let subject {
            manifest["subject"] = ["mediaType": Self.manifestMediaType, "digest": subject["digest"]!, "size": subject["size"]!]
        }
        if !annotations.isEmpty { manifest["annotations"] = annotations }
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .withoutEscapingSlashes])
        var descriptor = try await blob(data, mediaType: Self.manifestMediaType, written: &written)
        descriptor["artifactType"] = artifactType
        return descriptor
    }

    /// Staged, fsynced, renamed into place.
    private func put(_ data: Data, at path: String) throws {
        let aside = staging + "/" + (path as NSString).lastPathComponent + ".new"
        try DirectoryTarget.write(data, to: aside)
        try DirectoryTarget.rename(aside, to: path)
    }
}
