import Foundation
import HallmarkSupport

/// An OCI image layout (image-spec v1.1) of one uncompressed layer: `oci-layout`, `index.json`
/// with one manifest tagged with the recipe's version, and the blobs. Every JSON document is
/// written with sorted keys and no build-specific values, so the same layer gives the same
/// manifest digest. Uncompressed, because gzip's bytes depend on the gzip that wrote them.
public struct OCILayout: Sendable {
    public var name: String
    public var version: String
    public var description: String?
    public var sourceDateEpoch: Int

    public static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
    public static let configMediaType = "application/vnd.oci.image.config.v1+json"
    public static let layerMediaType = "application/vnd.oci.image.layer.v1.tar"
    public static let indexMediaType = "application/vnd.oci.image.index.v1+json"
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public struct Descriptor: Codable, Sendable, Equatable {
        public var mediaType: String
        public var digest: String
        public var size: UInt64
        public var annotations: [String: String]?
    }

    /// What was written: the manifest the tag points at and the one layer.
    public struct Written: Sendable {
        public var manifest: Descriptor
        public var layer: Descriptor
    }

    /// The annotations and labels both the manifest and the config carry.
    var annotations: [String: String] {
        var annotations = [
            "org.opencontainers.image.title": name, "org.opencontainers.image.version": version,
            "org.opencontainers.image.created": created,
        ]
        if let description { annotations["org.opencontainers.image.description"] = description }
        return annotations
    }

    var created: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(sourceDateEpoch)))
    }

    /// Moves `layerTar` (a reproducible tar of the rootfs) into a new layout at `directory`.
    public func write(layerTar: String, layerSHA256: String, to directory: String) throws -> Written {
        let blobs = directory + "/blobs/sha256"
        try FileManager.default.createDirectory(atPath: blobs, withIntermediateDirectories: true)
        let layerSize = (try FileManager.default.attributesOfItem(atPath: layerTar)[.size] as? NSNumber)?.uint64Value ?? 0
        try FileManager.default.moveItem(atPath: layerTar, toPath: blobs + "/" + layerSHA256)
        let layer = Descriptor(mediaType: Self.layerMediaType, digest: "sha256:" + layerSHA256, size: layerSize)

        let config = Self.document([
            "architecture": "amd64", "os": "linux", "created": created,
            "config": [
                "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/bash"],
                "Labels": annotations,
            ] as [String: Any],
            "rootfs": ["type": "layers", "diff_ids": [layer.digest]] as [String: Any],
            "history": [["created": created, "created_by": "hallmark build \(name) \(version)"]],
        ])
        let configDescriptor = try Self.writeBlob(config, mediaType: Self.configMediaType, into: blobs)
        let manifest = Self.document([
            "schemaVersion": 2, "mediaType": Self.manifestMediaType,
            "config": Self.object(configDescriptor), "layers": [Self.object(layer)], "annotations": annotations,
        ])
        var manifestDescriptor = try Self.writeBlob(manifest, mediaType: Self.manifestMediaType, into: blobs)
        manifestDescriptor.annotations = [Self.refNameAnnotation: version]
        let index = Self.document([
            "schemaVersion": 2, "mediaType": Self.indexMediaType, "manifests": [Self.object(manifestDescriptor)],
        ])
        try index.write(to: URL(fileURLWithPath: directory + "/index.json"))
        try Self.document(["imageLayoutVersion": "1.0.0"]).write(to: URL(fileURLWithPath: directory + "/oci-layout"))
        return Written(manifest: manifestDescriptor, layer: layer)
    }

    static func writeBlob(_ data: Data, mediaType: String, into blobs: String) throws -> Descriptor {
        let digest = Digest.sha256(data)
        try data.write(to: URL(fileURLWithPath: blobs + "/" + digest))
        return Descriptor(mediaType: mediaType, digest: "sha256:" + digest, size: UInt64(data.count))
    }

    static func object(_ descriptor: Descriptor) -> [String: Any] {
        var object: [String: Any] = ["mediaType": descriptor.mediaType, "digest": descriptor.digest, "size": descriptor.size]
        if let annotations = descriptor.annotations { object["annotations"] = annotations }
        return object
    }

    /// Sorted keys, no whitespace: one byte sequence per document.
    static func document(_ object: [String: Any]) -> Data {
        // Only strings, numbers, arrays and dictionaries of them: serialisation cannot fail.
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}
