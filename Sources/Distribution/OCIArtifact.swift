import Foundation
import HallmarkSupport

/// A verified build as OCI content (image-spec 1.1), the same for an OCI layout and a registry:
/// the image's files as one artifact manifest (its own artifactType, one layer per file, the empty
/// config), and the DSSE envelope and report.json as two more artifacts whose `subject` is that
/// manifest, i.e. its referrers. Where it is put decides only how the bytes travel.
struct OCIArtifact {
    static let diskArtifactType = "application/vnd.hallmark.image.v1"
    static let envelopeArtifactType = "application/vnd.dsse.envelope.v1+json"
    static let reportArtifactType = "application/vnd.hallmark.report.v1+json"
    static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
    static let indexMediaType = "application/vnd.oci.image.index.v1+json"
    static let emptyConfig = (mediaType: "application/vnd.oci.empty.v1+json", data: Data("{}".utf8))

    /// A blob's bytes: in memory (the config), or a shipped file, whose digest the gate verified.
    enum Content {
        case bytes(Data)
        case file(ShippedFile)
    }

    struct Blob {
        /// Lowercase hex, without `sha256:`.
        var hex: String
        var size: Int
        var content: Content
        var digest: String { "sha256:" + hex }
    }

    struct Manifest {
        var data: Data
        /// The descriptor an index lists it under (with its artifactType).
        var descriptor: [String: Any]
        var hex: String { Digest.sha256(data) }
        var digest: String { "sha256:" + hex }
    }

    /// Every blob a manifest names, the config first; no blob twice.
    var blobs: [Blob]
    var image: Manifest
    var referrers: [Manifest]
    /// `<version>-<build>`.
    var tag: String
    /// The container output's manifest and its tag `<version>-<build>-container`, when the build has one.
    var container: Manifest?
    var containerTag: String?
    static let containerAnnotation = "dev.hallmark.container"

    init(_ release: VerifiedRelease) throws {
        let candidate = release.candidate
        tag = "\(candidate.version)-\(candidate.build)"
        let config = Blob(
            hex: Digest.sha256(Self.emptyConfig.data), size: Self.emptyConfig.data.count, content: .bytes(Self.emptyConfig.data))
        let configDescriptor: [String: Any] = ["mediaType": Self.emptyConfig.mediaType, "digest": config.digest, "size": config.size]
        var blobs = [config]

        func layer(_ file: ShippedFile, mediaType: String) throws -> [String: Any] {
            let size = (try FileManager.default.attributesOfItem(atPath: file.source)[.size] as? NSNumber)?.intValue ?? 0
            if !blobs.contains(where: { $0.hex == file.sha256 }) { blobs.append(Blob(hex: file.sha256, size: size, content: .file(file))) }
            return [
                "mediaType": mediaType, "digest": "sha256:" + file.sha256, "size": size,
                "annotations": ["org.opencontainers.image.title": file.name],
            ]
        }

        var annotations = [
            "org.opencontainers.image.title": candidate.image, "org.opencontainers.image.version": candidate.version,
            "dev.hallmark.build": String(candidate.build),
        ]
        // The container output is an ordinary image of its own; the artifact names it, so a reader
        // of the artifact finds every file the envelope signs.
        if let container = release.container {
            annotations[Self.containerAnnotation] = "sha256:" + container.manifest.sha256
            for blob in container.blobs {
                let size = (try? FileManager.default.attributesOfItem(atPath: blob.source)[.size] as? NSNumber)?.intValue ?? 0
                blobs.append(Blob(hex: blob.sha256, size: size, content: .file(blob)))
            }
            self.container = Manifest(data: container.manifestData, descriptor: container.descriptor(tag: nil))
            containerTag = ContainerImage.tag(candidate)
        } else {
            self.container = nil
            containerTag = nil
        }
        image = try Self.manifest(
            artifactType: Self.diskArtifactType, config: configDescriptor,
            layers: release.imageFiles.map { try layer($0, mediaType: Self.layerMediaType($0.name)) }, subject: nil,
            annotations: annotations)
        var referrers: [Manifest] = []
        for (name, type) in [(ReleaseGate.envelopeName, Self.envelopeArtifactType), (ReleaseGate.reportName, Self.reportArtifactType)] {
            guard let file = release.files.first(where: { $0.name == name }) else { continue }
            referrers.append(
                try Self.manifest(
                    artifactType: type, config: configDescriptor, layers: [try layer(file, mediaType: type)], subject: image,
                    annotations: [:]))
        }
        self.referrers = referrers
        self.blobs = blobs
    }

    /// The media type of a file's layer, after its role.
    static func layerMediaType(_ role: String) -> String {
        switch role {
        case "disk.qcow2": "application/vnd.hallmark.disk.qcow2"
        case "disk.raw": "application/vnd.hallmark.disk.raw"
        case "vmlinuz": "application/vnd.hallmark.kernel"
        case "initrd.img": "application/vnd.hallmark.initrd"
        case "rootfs.tar": "application/vnd.hallmark.rootfs.tar"
        default: "application/octet-stream"
        }
    }

    private static func manifest(
        artifactType: String, config: [String: Any], layers: [[String: Any]], subject: Manifest?, annotations: [String: String]
    ) throws -> Manifest {
        var manifest: [String: Any] = [
            "schemaVersion": 2, "mediaType": manifestMediaType, "artifactType": artifactType, "config": config, "layers": layers,
        ]
        if let subject {
            manifest["subject"] = ["mediaType": manifestMediaType, "digest": subject.digest, "size": subject.data.count]
        }
        if !annotations.isEmpty { manifest["annotations"] = annotations }
        let data = try canonicalJSON(manifest)
        let descriptor: [String: Any] = [
            "mediaType": manifestMediaType, "digest": "sha256:" + Digest.sha256(data), "size": data.count, "artifactType": artifactType,
        ]
        return Manifest(data: data, descriptor: descriptor)
    }

    /// An image index listing `manifests` (the referrers of a subject, for the tag-schema fallback).
    static func index(_ manifests: [[String: Any]]) throws -> Data {
        try canonicalJSON(["schemaVersion": 2, "mediaType": indexMediaType, "manifests": manifests])
    }

    static func canonicalJSON(_ object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}
