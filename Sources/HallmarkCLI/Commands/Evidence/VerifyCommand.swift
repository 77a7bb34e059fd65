import ArgumentParser
import Attestation
import Distribution
import Foundation
import HallmarkModel
import HallmarkSupport

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a signed report (report.dsse.json) and bind it to the image's files.",
        discussion: """
            Checks, in order: the envelope parses, its payloadType is application/vnd.in-toto+json, \
            a signature verifies with the public key, the payload is an in-toto Statement v1 with \
            Hallmark's predicate whose subjects are <name>-<version>-<build>/<role> of the report's \
            image, the image is the one --image/--version/--build name, each file's sha256 is that \
            of the subject of its own role, the files cover the boot disk (every subject with \
            --all-subjects), the gate was as strict as --gate-covers asks, and the verdict is pass.

            ENVELOPE may be registry:HOST[:PORT]/REPOSITORY:TAG (or @sha256:DIGEST): the image's files \
            are downloaded from the registry (each blob checked against its digest) with the envelope \
            attached to it as a referrer (the referrers API, or the tag-schema fallback), and every \
            subject must be matched by one of them.

            A file's role is given as ROLE=FILE (disk.qcow2, disk.raw, vmlinuz, initrd.img) or, \
            without "ROLE=", is the file's name. Without any file, verify refuses unless \
            --no-artifacts says the envelope alone is to be checked.

            Exit codes: 0 verified; 1 a check failed (printed as "verification failed: <check>: <why>"); \
            64 usage; 65 unreadable or malformed envelope or key file; 70 internal error; 130/143 interrupted.
            """)

    @Argument(
        help: ArgumentHelp(
            "DSSE envelope file (report.dsse.json), or registry:HOST/REPOSITORY:TAG for an image pushed with its envelope.",
            valueName: "ENVELOPE"))
    var envelope: String

    @Option(name: .customLong("key"), help: ArgumentHelp("Public key (SPKI PEM, e.g. hallmark.pub).", valueName: "PUB"))
    var publicKey: String

    @Option(
        name: .customLong("artifact"),
        help: ArgumentHelp(
            "A file that must match the subject of its role: ROLE=FILE, or FILE named by its role (repeat for each file).",
            valueName: "[ROLE=]FILE"))
    var artifacts: [String] = []

    @Option(
        name: .customLong("image-dir"),
        help: ArgumentHelp(
            "An image directory holding the files named by role (e.g. $HALLMARK_HOME/images/NAME/VERSION-BUILD), and the container image in its oci/ layout: each present file is checked.",
            valueName: "DIR"))
    var imageDirectory: String?

    @Flag(name: .customLong("all-subjects"), help: "Require a matching file for every subject, not only the boot disk.")
    var allSubjects = false

    @Flag(
        name: .customLong("no-artifacts"),
        help: "Check the envelope alone, binding it to no file (it then proves nothing about the files at hand).")
    var noArtifacts = false

    @Option(name: .customLong("image"), help: ArgumentHelp("Require the report to be about this image name.", valueName: "NAME"))
    var imageName: String?

    @Option(name: .customLong("version"), help: ArgumentHelp("Require this image version (e.g. 1.0.0).", valueName: "VERSION"))
    var imageVersion: String?

    @Option(name: .customLong("build"), help: ArgumentHelp("Require this build number.", valueName: "N"))
    var imageBuild: Int?

    @Option(
        name: .customLong("gate-covers"),
        help: ArgumentHelp(
            "Require that a failure at SEVERITY closed the gate: the report's gate threshold is SEVERITY or stricter (info is strictest).",
            valueName: "SEVERITY"))
    var gateCovers: Severity?

    @Flag(help: "Print the result as one JSON object (verified, failure, image, subjects, artifacts, coverage, gateThreshold, verdict).")
    var json = false

    static let registryPrefix = "registry:"
    var registryReference: String? {
        envelope.hasPrefix(Self.registryPrefix) ? String(envelope.dropFirst(Self.registryPrefix.count)) : nil
    }

    func validate() throws {
        if registryReference != nil {
            guard artifacts.isEmpty, imageDirectory == nil, !noArtifacts else {
                throw ValidationError("a registry reference brings the image's files; drop --artifact, --image-dir and --no-artifacts")
            }
        } else if noArtifacts {
            guard artifacts.isEmpty, imageDirectory == nil, !allSubjects else {
                throw ValidationError("--no-artifacts checks no file; drop it or drop --artifact, --image-dir and --all-subjects")
            }
        } else if artifacts.isEmpty, imageDirectory == nil {
            throw ValidationError(
                "name the image's files (--artifact ROLE=FILE or --image-dir DIR), or pass --no-artifacts to check the envelope alone")
        }
        for artifact in artifacts where Self.parseArtifact(artifact).path.isEmpty {
            throw ValidationError("--artifact \(artifact): no file after the role")
        }
    }

    /// "ROLE=FILE" when the part before "=" has no "/" (a role is never a path), else the whole text is the file.
    static func parseArtifact(_ text: String) -> VerificationRequirements.ArtifactFile {
        if let equals = text.firstIndex(of: "="), !text[..<equals].isEmpty, !text[..<equals].contains("/") {
            return .init(role: String(text[..<equals]), path: String(text[text.index(after: equals)...]))
        }
        return .init(path: text)
    }

    /// A report.json handed in instead of its envelope: a JSON object with a report's keys and no payload.
    static func isUnsignedReport(_ data: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return object["payload"] == nil && object["controls"] != nil && object["gate"] != nil
    }

    func run() async throws {
        try await runReportingErrors {
            let key = try VerifyingKey(pemFile: publicKey)
            var envelopePath = envelope
            var files = artifacts.map(Self.parseArtifact)
            var coverage: VerificationRequirements.Coverage = noArtifacts ? .nothing : allSubjects ? .everySubject : .bootDisk
            let downloads = HallmarkHome.fromEnvironment().run + "/verify-\(UUID().uuidString.prefix(8))"
            defer { try? FileManager.default.removeItem(atPath: downloads) }
            if let registryReference {
                let repository = try RegistryReference(parsing: registryReference)
                let pulled = try await RegistryTarget(repository: repository, scratch: downloads + "/requests").pull(
                    into: downloads + "/files")
                envelopePath = pulled.envelopePath
                files = pulled.files.map { .init(role: $0.role, path: $0.path) }
                coverage = .everySubject
            }
            let data = try UserFile.read(envelopePath, what: "envelope (report.dsse.json)")
            if let imageDirectory {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: imageDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw HallmarkError(.usage, "--image-dir \(imageDirectory) is not a directory")
                }
                for role in Self.imageRoles where FileManager.default.fileExists(atPath: imageDirectory + "/" + role) {
                    files.append(.init(role: role, path: imageDirectory + "/" + role))
                }
                if let manifest = Self.containerManifest(inLayout: imageDirectory + "/oci") {
                    files.append(.init(role: "oci", path: manifest))
                }
            }
            let requirements = VerificationRequirements(
                artifacts: files, coverage: coverage,
                imageName: imageName, imageVersion: imageVersion, imageBuild: imageBuild, gateCovers: gateCovers?.rawValue)
            var result = try await Attestation.verify(envelope: data, publicKey: key, requirements: requirements)
            if let registryReference, let repository = try? RegistryReference(parsing: registryReference) {
                // The downloads are gone when this prints: name each file as the registry's blob.
                let blobs = RegistryReference(host: repository.host, repository: repository.repository)
                for index in result.artifacts.indices {
                    result.artifacts[index].path = "\(blobs)@sha256:\(result.artifacts[index].subject.sha256)"
                }
            }
            if let failure = result.failure, failure.check == .envelope {
                if Self.isUnsignedReport(data) {
                    throw HallmarkError.invalidInput(
                        "this is a report.json, not a signed envelope; only runs given a signing key (--signing-key) write report.dsse.json beside it, verify that file",
                        at: SourceLocation(file: envelope))
                }
                throw HallmarkError.invalidInput(failure.reason, at: SourceLocation(file: envelope))
            }
            if json {
                let output = try JSONSerialization.data(
                    withJSONObject: result.jsonObject(), options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: output, as: UTF8.self))
            } else {
                print(result.description)
            }
            // Not an ExitStatus: 1 here means "a verification check failed", documented above.
            if !result.passed { throw ExitCode(1) }
            return .gateOpen
        }
    }

    /// The files an image directory holds, named by their roles.
    static let imageRoles = ["disk.qcow2", "disk.raw", "vmlinuz", "initrd.img", "rootfs.tar"]

    /// The container output's subject: the manifest an image directory's OCI layout lists.
    static func containerManifest(inLayout layout: String) -> String? {
        guard let data = FileManager.default.contents(atPath: layout + "/index.json"),
            let index = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let digest = (index["manifests"] as? [[String: Any]])?.first?["digest"] as? String, digest.hasPrefix("sha256:")
        else { return nil }
        return layout + "/blobs/sha256/" + digest.dropFirst("sha256:".count)
    }
}
