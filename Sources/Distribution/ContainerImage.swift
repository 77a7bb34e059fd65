import Foundation
import HallmarkSupport

/// A build's container output as shipped: the `oci` subject is the image manifest its OCI layout's
/// tag points at, and that manifest names its config and layer by digest, so the blobs found
/// beside it in the build's layout are bound to the signed report too. Each lands checked against
/// the digest that names it.
public struct ContainerImage: Sendable {
    /// The role of the manifest among a build's files (`OutputFormat.oci.artifactName`).
    public static let role = "oci"

    public var manifest: ShippedFile
    public var manifestData: Data
    public var mediaType: String
    /// The config, then the layers; each named `sha256:<hex>`.
    public var blobs: [ShippedFile]

    /// Reads the manifest the gate verified (refusing bytes that changed since) and the blobs it names.
    init(manifest: ShippedFile) throws {
        guard let data = FileManager.default.contents(atPath: manifest.source), Digest.sha256(data) == manifest.sha256 else {
            throw HallmarkError(.hostFailure, "\(manifest.source) changed after verification; not shipped")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let config = object["config"] as? [String: Any], let layers = object["layers"] as? [[String: Any]]
        else { throw HallmarkError(.invalidInput, "\(manifest.source) is not an OCI image manifest") }
        let blobsDirectory = (manifest.source as NSString).deletingLastPathComponent
        blobs = try ([config] + layers).map { descriptor in
            guard let digest = descriptor["digest"] as? String, digest.hasPrefix("sha256:"), digest.count == 71 else {
                throw HallmarkError(.invalidInput, "\(manifest.source) names a blob without a sha256 digest")
            }
            let hex = String(digest.dropFirst("sha256:".count))
            return ShippedFile(name: digest, source: blobsDirectory + "/" + hex, sha256: hex)
        }
        self.manifest = manifest
        self.manifestData = data
        mediaType = object["mediaType"] as? String ?? OCIArtifact.manifestMediaType
    }

    /// The tag it is published under beside the disk artifact's `<version>-<build>`.
    static func tag(_ candidate: ReleaseCandidate) -> String { "\(candidate.version)-\(candidate.build)-container" }

    /// Its descriptor in an index, tagged.
    func descriptor(tag: String?) -> [String: Any] {
        var descriptor: [String: Any] = ["mediaType": mediaType, "digest": "sha256:" + manifest.sha256, "size": manifestData.count]
        if let tag { descriptor["annotations"] = ["org.opencontainers.image.ref.name": tag] }
        return descriptor
    }
}
