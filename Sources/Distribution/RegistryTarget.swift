import Foundation
import HallmarkSupport

/// An OCI registry: the build pushed as an `OCIArtifact`, its envelope and report as referrers,
/// its container output (if any) as an ordinary image tagged `<version>-<build>-container`.
/// Order makes it atomic for a reader: blobs first (each checked by the registry against the
/// verified digest), then the manifests by digest, then the referrers, the tag last, so a pull by
/// tag finds everything it names. A registry without the referrers API (Debian's docker-registry
/// 2.8 has none) gets the distribution spec's fallback, an index of the referrers under the tag `sha256-<hex>`. A re-run
/// uploads only the blobs that are missing, so a push cut short is completed by pushing again.
public struct RegistryTarget: Sendable {
    public var repository: RegistryReference
    /// Where request bodies and headers are staged (under `$HALLMARK_HOME/run`).
    public var scratch: String

    /// Where the login is looked up (skopeo's and Docker's auth files, by default).
    public var authFiles: [String]

    public init(repository: RegistryReference, scratch: String, authFiles: [String]? = nil) {
        self.repository = repository
        self.scratch = scratch
        self.authFiles = authFiles ?? RegistryCredentials.authFiles()
    }

    public struct Outcome: Sendable, Equatable {
        public var manifestDigest: String
        public var tag: String
        /// Blobs, manifests and tags this run uploaded; empty when the build was there already.
        public var written: [String]
        /// How the referrers are found: "referrers API" or "tag sha256-<hex>".
        public var referrers: String
    }

    var client: RegistryClient {
        get throws {
            RegistryClient(
                registry: repository, scratch: scratch, credentials: try RegistryCredentials.find(host: repository.host, in: authFiles))
        }
    }

    public func publish(_ release: VerifiedRelease) async throws -> Outcome {
        let artifact = try OCIArtifact(release)
        let client = try client
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var written: [String] = []
        for blob in artifact.blobs where try await !client.blobExists(blob.digest) {
            switch blob.content {
            case .bytes(let data): try await client.uploadBlob(blob.digest, .bytes(data))
            case .file(let file): try await client.uploadBlob(blob.digest, .file(file.source))
            }
            written.append(blob.digest)
        }
        if try await client.manifest(artifact.image.digest, accept: [OCIArtifact.manifestMediaType]) == nil {
            _ = try await client.putManifest(
                artifact.image.data, mediaType: OCIArtifact.manifestMediaType, reference: artifact.image.digest)
            written.append(artifact.image.digest)
        }
        for referrer in artifact.referrers where try await client.manifest(referrer.digest, accept: [OCIArtifact.manifestMediaType]) == nil
        {
            _ = try await client.putManifest(referrer.data, mediaType: OCIArtifact.manifestMediaType, reference: referrer.digest)
            written.append(referrer.digest)
        }
        var referrers = "referrers API"
        if try await client.referrersIndex(artifact.image.digest) == nil {
            let tag = "sha256-" + artifact.image.hex
            referrers = "tag " + tag
            // Referrers pushed by others stay; ours are listed once.
            let existing = try await client.manifest(tag, accept: [OCIArtifact.indexMediaType])
            let listed =
                existing.flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }?["manifests"] as? [[String: Any]] ?? []
            let ours = Set(artifact.referrers.map(\.digest))
            let index = try OCIArtifact.index(
                listed.filter { !ours.contains($0["digest"] as? String ?? "") } + artifact.referrers.map(\.descriptor))
            if existing != index {
                _ = try await client.putManifest(index, mediaType: OCIArtifact.indexMediaType, reference: tag)
                written.append(tag)
            }
        }
        if let container = artifact.container, let tag = artifact.containerTag,
            let mediaType = container.descriptor["mediaType"] as? String,
            try await client.manifest(tag, accept: [mediaType]) != container.data
        {
            _ = try await client.putManifest(container.data, mediaType: mediaType, reference: tag)
            written.append(tag)
        }
        if try await client.manifest(artifact.tag, accept: [OCIArtifact.manifestMediaType]) != artifact.image.data {
            _ = try await client.putManifest(artifact.image.data, mediaType: OCIArtifact.manifestMediaType, reference: artifact.tag)
            written.append(artifact.tag)
        }
        return Outcome(manifestDigest: artifact.image.digest, tag: artifact.tag, written: written, referrers: referrers)
    }

    /// What a registry holds under a tag, downloaded and checked blob by blob.
    public struct Pulled: Sendable {
        public var manifestDigest: String
        /// The image's files by role (the layers' titles).
        public var files: [(role: String, path: String)]
        public var envelopePath: String
        public var reportPath: String?
    }

    /// Downloads the artifact under `repository.reference` and its envelope and report referrers into `directory`.
    public func pull(into directory: String) async throws -> Pulled {
        guard let reference = repository.reference else {
            throw HallmarkError(.usage, "registry reference \(repository) names no tag or digest")
        }
        let client = try client
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard let manifestData = try await client.manifest(reference, accept: [OCIArtifact.manifestMediaType]) else {
            throw HallmarkError(.invalidInput, "registry \(repository): no manifest under \(reference)")
        }
        let digest = "sha256:" + Digest.sha256(manifestData)
        if reference.hasPrefix("sha256:"), reference != digest {
            throw HallmarkError(.hostFailure, "registry \(repository.host) served a manifest whose digest is \(digest), not \(reference)")
        }
        let manifest = try Self.object(manifestData, what: "manifest \(reference)")
        guard manifest["artifactType"] as? String == OCIArtifact.diskArtifactType else {
            throw HallmarkError(
                .invalidInput,
                "registry \(repository): \(reference) is not a Hallmark image (artifactType \(manifest["artifactType"] ?? "none"))")
        }
        var files: [(role: String, path: String)] = []
        for layer in manifest["layers"] as? [[String: Any]] ?? [] {
            guard let layerDigest = layer["digest"] as? String,
                let role = (layer["annotations"] as? [String: Any])?["org.opencontainers.image.title"] as? String,
                !role.contains("/"), !role.hasPrefix(".")
            else { throw HallmarkError(.invalidInput, "registry \(repository): a layer of \(reference) has no usable title") }
            try await client.downloadBlob(layerDigest, to: directory + "/" + role)
            files.append((role, directory + "/" + role))
        }
        if let container = (manifest["annotations"] as? [String: Any])?[OCIArtifact.containerAnnotation] as? String {
            let path = directory + "/" + ContainerImage.role
            guard let data = try await client.manifest(container, accept: [OCIArtifact.manifestMediaType]),
                "sha256:" + Digest.sha256(data) == container
            else {
                throw HallmarkError(
                    .hostFailure, "registry \(repository): the container image \(container) is missing or not what its digest says")
            }
            try data.write(to: URL(fileURLWithPath: path))
            files.append((ContainerImage.role, path))
        }
        let indexData: Data?
        if let api = try await client.referrersIndex(digest) {
            indexData = api
        } else {
            indexData = try await client.manifest("sha256-" + digest.dropFirst("sha256:".count), accept: [OCIArtifact.indexMediaType])
        }
        let referrers = try indexData.map { try Self.object($0, what: "the referrers of \(digest)")["manifests"] } as? [[String: Any]] ?? []
        var found: [String: String] = [:]
        for (type, name) in [
            (OCIArtifact.envelopeArtifactType, ReleaseGate.envelopeName), (OCIArtifact.reportArtifactType, ReleaseGate.reportName),
        ] {
            // The newest referrer of each type wins: a re-signed report is listed after the first.
            guard let entry = referrers.last(where: { $0["artifactType"] as? String == type }),
                let entryDigest = entry["digest"] as? String,
                let data = try await client.manifest(entryDigest, accept: [OCIArtifact.manifestMediaType]),
                "sha256:" + Digest.sha256(data) == entryDigest,
                let content = (try Self.object(data, what: "referrer \(entryDigest)")["layers"] as? [[String: Any]])?.first?["digest"]
                    as? String
            else { continue }
            try await client.downloadBlob(content, to: directory + "/" + name)
            found[name] = directory + "/" + name
        }
        guard let envelope = found[ReleaseGate.envelopeName] else {
            throw HallmarkError(
                .invalidInput, "registry \(repository): \(reference) has no signed report (no \(OCIArtifact.envelopeArtifactType) referrer)"
            )
        }
        return Pulled(manifestDigest: digest, files: files, envelopePath: envelope, reportPath: found[ReleaseGate.reportName])
    }

    private static func object(_ data: Data, what: String) throws -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw HallmarkError(.invalidInput, "\(what) is not a JSON object")
        }
        return object
    }
}
