import Foundation
import HallmarkSupport

/// An OCI image layout directory (image-spec 1.1) holding the build as an `OCIArtifact` with its
/// two referrers, and its container output (if any) as an ordinary image tagged
/// `<version>-<build>-container`; the layout's index.json lists them all, the artifact tagged `<version>-<build>`. Blobs are staged,
/// checked, fsynced and renamed first; index.json is replaced last, in one rename, so a reader
/// sees the build whole or not at all. A re-run writes only what is missing.
public struct OCILayoutTarget: Sendable {
    public var root: String

    public init(root: String) {
        self.root = root
    }

    public static let diskArtifactType = OCIArtifact.diskArtifactType
    public static let envelopeArtifactType = OCIArtifact.envelopeArtifactType
    public static let reportArtifactType = OCIArtifact.reportArtifactType

    public struct Outcome: Sendable, Equatable {
        /// The artifact manifest's digest (`sha256:…`) and tag.
        public var manifestDigest: String
        public var tag: String
        /// Blobs and files this run wrote; empty when the build was already complete.
        public var written: [String]
    }

    public func publish(_ release: VerifiedRelease) async throws -> Outcome {
        let artifact = try OCIArtifact(release)
        var written: [String] = []
        try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        if (try? String(contentsOfFile: root + "/oci-layout", encoding: .utf8)) == nil {
            try put(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), at: root + "/oci-layout")
            written.append("oci-layout")
        }
        for blob in artifact.blobs {
            let path = blobPath(blob.hex)
            guard (try? await Digest.sha256(fileAt: path)) != blob.hex else { continue }
            switch blob.content {
            case .bytes(let data): try put(data, at: path)
            case .file(let file): try await DirectoryTarget.land(file, aside: staging + "/" + file.sha256, at: path)
            }
            written.append(blob.digest)
        }
        for manifest in [artifact.image] + artifact.referrers + (artifact.container.map { [$0] } ?? []) {
            let path = blobPath(manifest.hex)
            guard (try? await Digest.sha256(fileAt: path)) != manifest.hex else { continue }
            try put(manifest.data, at: path)
            written.append(manifest.digest)
        }

        var taggedImage = artifact.image.descriptor
        taggedImage["annotations"] = ["org.opencontainers.image.ref.name": artifact.tag]
        var ours = [taggedImage] + artifact.referrers.map(\.descriptor)
        if let container = artifact.container, let tag = artifact.containerTag {
            var tagged = container.descriptor
            tagged["annotations"] = ["org.opencontainers.image.ref.name": tag]
            ours.append(tagged)
        }
        let tags = Set([artifact.tag] + (artifact.containerTag.map { [$0] } ?? []))
        let existing =
            ((try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/index.json")))) as? [String: Any])
        let oursDigests = Set(ours.compactMap { $0["digest"] as? String })
        // Earlier builds stay; this tag now names this build; entries already there are not doubled.
        let kept = (existing?["manifests"] as? [[String: Any]] ?? []).filter { entry in
            !oursDigests.contains(entry["digest"] as? String ?? "")
                && !tags.contains((entry["annotations"] as? [String: Any])?["org.opencontainers.image.ref.name"] as? String ?? "")
        }
        let indexData = try OCIArtifact.index(kept + ours)
        let current = existing.flatMap { try? OCIArtifact.canonicalJSON($0) }
        if current != indexData {
            try put(indexData, at: root + "/index.json")
            written.append("index.json")
        }
        try? FileManager.default.removeItem(atPath: staging)
        return Outcome(manifestDigest: artifact.image.digest, tag: artifact.tag, written: written)
    }

    private var staging: String { root + "/.hallmark-staging" }
    private func blobPath(_ hex: String) -> String { root + "/blobs/sha256/" + hex }

    /// Staged, fsynced, renamed into place.
    private func put(_ data: Data, at path: String) throws {
        let aside = staging + "/" + (path as NSString).lastPathComponent + ".new"
        try DirectoryTarget.write(data, to: aside)
        try DirectoryTarget.rename(aside, to: path)
    }
}
