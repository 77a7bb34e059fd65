import Attestation
import Foundation
import HallmarkSupport

/// What a distribution would ship: one build's files by role, its report.json and the envelope signing it.
public struct ReleaseCandidate: Sendable, Equatable {
    public var image: String
    public var version: String
    public var build: Int
    /// The image's files; each lands at a target under its role's name.
    public var files: [VerificationRequirements.ArtifactFile]
    public var reportPath: String
    public var envelopePath: String

    public init(
        image: String, version: String, build: Int, files: [VerificationRequirements.ArtifactFile], reportPath: String,
        envelopePath: String
    ) {
        (self.image, self.version, self.build, self.files) = (image, version, build, files)
        (self.reportPath, self.envelopePath) = (reportPath, envelopePath)
    }

    /// Where the build lands in a target: `<image>/<version>-<build>`.
    public var subdirectory: String { "\(image)/\(version)-\(build)" }
}

/// The gate said no: which check failed and why. Nothing was shipped anywhere.
public struct GateRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// An `Attestation` check (`signature`, `artifact`, `verdict`, …) or `report` when report.json is not
    /// the report the envelope signs.
    public var check: String
    /// The file the check is about, when there is one.
    public var artifact: String?
    public var reason: String

    public var description: String {
        "distribution refused, no target touched: \(artifact.map { "\(check) \($0)" } ?? check): \(reason)"
    }
}

/// A build the gate let through, with the digest of every file as verified. Only `ReleaseGate.check`
/// makes one, so a target can be handed nothing else.
public struct VerifiedRelease: Sendable {
    public let candidate: ReleaseCandidate
    /// The image's files, then report.json and report.dsse.json.
    public let files: [ShippedFile]
    /// The container output, when the build has one (its manifest is the `oci` file of `files`).
    public let container: ContainerImage?
    public let verification: VerificationResult

    fileprivate init(candidate: ReleaseCandidate, files: [ShippedFile], verification: VerificationResult) throws {
        (self.candidate, self.files, self.verification) = (candidate, files, verification)
        container = try files.first { $0.name == ContainerImage.role }.map(ContainerImage.init)
    }

    /// The files that are neither the evidence nor the container manifest: the disk artifact's layers.
    var imageFiles: [ShippedFile] {
        files.filter { ![ReleaseGate.reportName, ReleaseGate.envelopeName, ContainerImage.role].contains($0.name) }
    }
}

/// Distribution runs only after this: the envelope's signature with the pipeline's key, the image
/// named by the candidate, every subject's file present with the subject's digest and no file that is
/// not a subject, the verdict pass, and report.json the very report the envelope signs. It is
/// `Attestation.verify`, the check `hallmark verify` runs, plus the report comparison.
public enum ReleaseGate {
    public static let reportName = "report.json"
    public static let envelopeName = "report.dsse.json"

    /// Throws `GateRefusal` when a check fails, `HallmarkError` when the envelope or report cannot be read.
    public static func check(_ candidate: ReleaseCandidate, publicKey: VerifyingKey) async throws -> VerifiedRelease {
        let envelope = try read(candidate.envelopePath, what: "envelope")
        let report = try read(candidate.reportPath, what: "report")
        let requirements = VerificationRequirements(
            artifacts: candidate.files, coverage: .everySubject, imageName: candidate.image, imageVersion: candidate.version,
            imageBuild: candidate.build)
        let result = try await Attestation.verify(envelope: envelope, publicKey: publicKey, requirements: requirements)
        if let failure = result.failure {
            throw GateRefusal(check: failure.check.rawValue, artifact: failure.artifact, reason: failure.reason)
        }
        guard try signedPredicate(envelope) == canonical(report) else {
            throw GateRefusal(
                check: "report", artifact: candidate.reportPath,
                reason: "it is not the report the envelope signs (changed after signing, or another run's)")
        }
        var files = result.artifacts.map { ShippedFile(name: $0.role, source: $0.path, sha256: $0.subject.sha256) }
        // The bytes checked above are the bytes shipped: a copy that differs is refused by the target.
        files.append(ShippedFile(name: reportName, source: candidate.reportPath, sha256: Digest.sha256(report)))
        files.append(ShippedFile(name: envelopeName, source: candidate.envelopePath, sha256: Digest.sha256(envelope)))
        return try VerifiedRelease(candidate: candidate, files: files, verification: result)
    }

    /// Gates, then publishes to every target in turn; a refusal throws before the first target is touched.
    public static func distribute(
        _ candidate: ReleaseCandidate, publicKey: VerifyingKey, to targets: [DirectoryTarget]
    ) async throws -> [DirectoryTarget.Outcome] {
        let release = try await check(candidate, publicKey: publicKey)
        var outcomes: [DirectoryTarget.Outcome] = []
        for target in targets { outcomes.append(try await target.publish(release)) }
        return outcomes
    }

    private static func read(_ path: String, what: String) throws -> Data {
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HallmarkError(.invalidInput, "cannot read the \(what) \(path) to gate its distribution", cause: error)
        }
    }

    /// The statement's predicate (the report as signed), re-serialized with sorted keys. Only called
    /// on an envelope that verified, so its payload is a statement.
    private static func signedPredicate(_ envelope: Data) throws -> Data {
        let payload = try DSSEEnvelope.decode(envelope).payloadBytes()
        guard let statement = try JSONSerialization.jsonObject(with: payload) as? [String: Any], let predicate = statement["predicate"]
        else { throw HallmarkError(.internalError, "a verified envelope has no predicate") }
        return try JSONSerialization.data(withJSONObject: predicate, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// report.json in the same form; a file that is not a JSON object never matches.
    private static func canonical(_ report: Data) -> Data? {
        guard let object = try? JSONSerialization.jsonObject(with: report), object is [String: Any] else { return nil }
        return try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    }
}

extension DirectoryTarget {
    /// Publishes a build the gate let through into `<root>/<image>/<version>-<build>/`; its
    /// container output as an OCI layout in `oci/` there, tagged with the version as in the image store.
    public func publish(_ release: VerifiedRelease) async throws -> Outcome {
        let files = release.files.filter { $0.name != ContainerImage.role }
        guard let container = release.container else { return try await publish(files, subdirectory: release.candidate.subdirectory) }
        let blobs = (container.blobs + [container.manifest]).map {
            ShippedFile(name: "oci/blobs/sha256/" + $0.sha256, source: $0.source, sha256: $0.sha256)
        }
        let layout: [(name: String, data: Data)] = [
            ("oci/oci-layout", Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)),
            ("oci/index.json", try OCIArtifact.index([container.descriptor(tag: release.candidate.version)])),
        ]
        return try await publish(files + blobs, subdirectory: release.candidate.subdirectory, generated: layout)
    }
}
