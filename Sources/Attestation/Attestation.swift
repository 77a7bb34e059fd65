import Foundation
import HallmarkSupport

/// An in-toto subject: an artifact's name and its SHA-256.
public struct Subject: Sendable, Equatable, Hashable {
    public var name: String
    /// Lowercase hex.
    public var sha256: String

    public init(name: String, sha256: String) {
        (self.name, self.sha256) = (name, sha256)
    }

    /// The artifact's role, the part after the last "/" of `name` (`disk.qcow2`, `disk.raw`, `vmlinuz`, `initrd.img`).
    public var role: String? {
        guard let slash = name.lastIndex(of: "/") else { return nil }
        let role = name[name.index(after: slash)...]
        return role.isEmpty ? nil : String(role)
    }
}

/// What a verifier demands beyond a good signature and a passing verdict.
public struct VerificationRequirements: Sendable, Equatable {
    /// Which subjects must have had their file checked.
    public enum Coverage: String, Sendable, Equatable {
        /// The disk tests boot: `disk.qcow2`, or `disk.raw` when the image has no qcow2.
        case bootDisk
        /// Every subject of the statement.
        case everySubject
        /// None: the envelope is checked alone and proves nothing about any file at hand.
        case nothing
    }

    /// A file to check against the subject of `role` (nil: the file's name is its role).
    public struct ArtifactFile: Sendable, Equatable {
        public var role: String?
        public var path: String

        public init(role: String? = nil, path: String) {
            (self.role, self.path) = (role, path)
        }
    }

    public var artifacts: [ArtifactFile]
    public var coverage: Coverage
    public var imageName: String?
    public var imageVersion: String?
    public var imageBuild: Int?
    /// A failure at this severity must have closed the gate: the report's threshold is this or stricter.
    public var gateCovers: String?

    public init(
        artifacts: [ArtifactFile] = [], coverage: Coverage = .bootDisk, imageName: String? = nil,
        imageVersion: String? = nil, imageBuild: Int? = nil, gateCovers: String? = nil
    ) {
        (self.artifacts, self.coverage, self.imageName, self.imageVersion) = (artifacts, coverage, imageName, imageVersion)
        (self.imageBuild, self.gateCovers) = (imageBuild, gateCovers)
    }
}

/// Signed evidence for a report: an in-toto Statement v1 whose subjects are the image artifacts and
/// whose predicate is report.json, in a DSSE envelope signed with Ed25519.
public enum Attestation {
    public static let payloadType = "application/vnd.in-toto+json"
    public static let statementType = "https://in-toto.io/Statement/v1"
    public static let predicateType = "https://hallmark.dev/audit-report/v1"

    /// The in-toto Statement v1 bytes for a report: `reportJSON` must be a JSON object and is embedded
    /// whole as the predicate. These bytes are what gets signed; they are never re-serialized.
    public static func statement(reportJSON: Data, subjects: [Subject]) throws -> Data {
        guard !subjects.isEmpty else {
            throw HallmarkError.invalidInput("an in-toto statement needs at least one subject")
        }
        for subject in subjects {
            guard !subject.name.isEmpty else { throw HallmarkError.invalidInput("a subject has an empty name") }
            guard isSHA256Hex(subject.sha256) else {
                throw HallmarkError.invalidInput("subject \(subject.name): \"\(subject.sha256)\" is not a lowercase hex sha256")
            }
        }
        let report: Any
        do {
            report = try JSONSerialization.jsonObject(with: reportJSON)
        } catch {
            throw HallmarkError.invalidInput("the report is not JSON: \(error.localizedDescription)")
        }
        guard report is [String: Any] else { throw HallmarkError.invalidInput("the report is not a JSON object") }
        let statement: [String: Any] = [
            "_type": statementType,
            "subject": subjects.map { ["name": $0.name, "digest": ["sha256": $0.sha256]] },
            "predicateType": predicateType,
            "predicate": report,
        ]
        return try JSONSerialization.data(withJSONObject: statement, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// Signs a report: returns the DSSE envelope (JSON file contents) around its in-toto statement.
    public static func signReport(reportJSON: Data, subjects: [Subject], key: SigningKey) throws -> Data {
        let payload = try statement(reportJSON: reportJSON, subjects: subjects)
        return try DSSEEnvelope.sign(payload: payload, payloadType: payloadType, with: key).encoded()
    }

    /// Signs a report with the PKCS#8 PEM key at `privateKeyPEMPath`.
    public static func signReport(reportJSON: Data, subjects: [Subject], privateKeyPEMPath: String) throws -> Data {
        try signReport(reportJSON: reportJSON, subjects: subjects, key: SigningKey(pemFile: privateKeyPEMPath))
    }

    /// Checks an envelope, in order: it parses; its payloadType is in-toto's; a signature verifies with
    /// `publicKey`; the payload is an in-toto Statement v1 with Hallmark's predicate type whose
    /// subjects are named `<image>-<version>-<build>/<role>` after the predicate's image; the image is
    /// the one `requirements` names; every file has the sha256 of the subject of its own role; the
    /// files cover what `requirements.coverage` demands; the gate's threshold is as strict as required;
    /// the predicate's `gate.verdict` is "pass". The result names the first check that failed.
    /// Throws only when cancelled.
    public static func verify(
        envelope: Data, publicKey: VerifyingKey, requirements: VerificationRequirements
    ) async throws -> VerificationResult {
        let keyID = publicKey.keyID
        var result = VerificationResult(keyID: keyID)
        func failed(_ check: VerificationResult.Check, _ reason: String, artifact: String? = nil) -> VerificationResult {
            var failure = result
            failure.failure = .init(check: check, artifact: artifact, reason: reason)
            return failure
        }

        // 1. envelope
        let parsed: DSSEEnvelope, payload: Data
        var signatures: [Data] = []
        do {
            parsed = try DSSEEnvelope.decode(envelope)
            payload = try parsed.payloadBytes()
            for (index, entry) in parsed.signatures.enumerated() {
                guard let signature = decodeBase64(entry.sig) else { throw EnvelopeError("\"signatures[\(index)].sig\" is not base64") }
                signatures.append(signature)
            }
        } catch {
            return failed(.envelope, "not a DSSE envelope: \(error)")
        }

        // 2. payloadType
        guard parsed.payloadType == payloadType else {
            return failed(.payloadType, "\"\(parsed.payloadType)\" is not \(payloadType)")
        }

        // 3. signature
        guard !signatures.isEmpty else { return failed(.signature, "the envelope has no signatures") }
        let pae = DSSEEnvelope.pae(payloadType: parsed.payloadType, payload: payload)
        guard signatures.contains(where: { publicKey.isValidSignature($0, for: pae) }) else {
            return failed(.signature, "does not verify with key \(keyID)")
        }

        // 4. statement
        let statement: [String: Any]
        do {
            (statement, result.subjects) = try parseStatement(payload)
            result.image = try parseImage(statement, subjects: result.subjects)
        } catch {
            return failed(.statement, error.description)
        }
        let predicate = statement["predicate"] as? [String: Any]
        let gate = predicate?["gate"] as? [String: Any]
        result.gateThreshold = gate?["threshold"] as? String

        // 5. image
        if let image = result.image {
            for (what, required, actual) in [
                ("name", requirements.imageName, image.name), ("version", requirements.imageVersion, image.version),
                ("build", requirements.imageBuild.map(String.init), String(image.build)),
            ] {
                if let required, required != actual {
                    return failed(.image, "the envelope is for \(image) (\(what) \(actual)), not \(what) \(required)")
                }
            }
        }

        // 6. artifacts: each file against the subject of its own role, never any subject
        let roles = result.subjects.compactMap(\.role)
        for file in requirements.artifacts {
            let role = file.role ?? (file.path as NSString).lastPathComponent
            guard let subject = result.subjects.first(where: { $0.role == role }) else {
                let why =
                    file.role == nil
                    ? "its name does not tell one of the subjects' roles (\(roles.joined(separator: ", "))); give ROLE=FILE"
                    : "the statement has no subject with role \(role) (roles: \(roles.joined(separator: ", ")))"
                return failed(.artifact, why, artifact: file.path)
            }
            let digest: String
            do {
                digest = try await HallmarkSupport.Digest.sha256(fileAt: file.path)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try Task.checkCancellation()
                return failed(.artifact, "cannot read it to compute its sha256", artifact: file.path)
            }
            guard digest == subject.sha256 else {
                let other = result.subjects.first { $0.sha256 == digest }.map { " (it is the \($0.name) subject's file)" } ?? ""
                return failed(.artifact, "sha256 \(digest) is not the digest of \(subject.name)\(other)", artifact: file.path)
            }
            result.artifacts.append(.init(path: file.path, role: role, subject: subject))
        }

        // 7. binding: the files checked must cover what the verifier asked for
        let bound = Set(result.artifacts.map(\.role))
        switch requirements.coverage {
        case .nothing:
            break
        case .bootDisk:
            guard let bootDisk = ["disk.qcow2", "disk.raw"].first(where: roles.contains) else {
                return failed(.binding, "the statement has no boot disk subject (disk.qcow2 or disk.raw)")
            }
            guard bound.contains(bootDisk) else {
                return failed(
                    .binding,
                    bound.isEmpty
                        ? "no file was checked against the subjects; the boot disk \(bootDisk) must be"
                        : "the boot disk \(bootDisk) was not checked (checked: \(bound.sorted().joined(separator: ", ")))")
            }
        case .everySubject:
            let missing = roles.filter { !bound.contains($0) }
            guard missing.isEmpty else { return failed(.binding, "no file was checked for \(missing.joined(separator: ", "))") }
        }
        result.coverage = requirements.coverage

        // 8. gate threshold
        if let required = requirements.gateCovers {
            guard let requiredRank = severityOrder.firstIndex(of: required) else {
                return failed(.gate, "\(required) is not a severity (\(severityOrder.joined(separator: ", ")))")
            }
            guard let threshold = result.gateThreshold, let rank = severityOrder.firstIndex(of: threshold) else {
                return failed(.gate, "the predicate has no gate.threshold among \(severityOrder.joined(separator: ", "))")
            }
            guard rank <= requiredRank else {
                return failed(.gate, "the gate closed only on \(threshold) and above, so \(required) failures were allowed through")
            }
        }

        // 9. verdict
        guard let verdict = gate?["verdict"] as? String else {
            return failed(.verdict, "the predicate has no gate.verdict")
        }
        guard verdict == "pass" else {
            let summary = (gate?["summary"] as? String).map { " (\($0))" } ?? ""
            return failed(.verdict, verdict + summary)
        }
        result.verdict = verdict
        return result
    }

    /// Verifies with the SPKI PEM public key at `publicKeyPEMPath` (throws if that file is unreadable or malformed).
    public static func verify(
        envelope: Data, publicKeyPEMPath: String, requirements: VerificationRequirements
    ) async throws -> VerificationResult {
        try await verify(envelope: envelope, publicKey: VerifyingKey(pemFile: publicKeyPEMPath), requirements: requirements)
    }

    /// Report severities from least to most severe, as `gate.threshold` spells them; a gate at
    /// threshold T closes on failures at T and above, so an earlier threshold is a stricter gate.
    public static let severityOrder = ["info", "low", "medium", "high", "critical"]

    /// The predicate's image, checked against the subjects: every subject is `<name>-<version>-<build>/<role>`
    /// of that image, no role appears twice, and a digest the report lists for a role is the subject's.
    private static func parseImage(_ statement: [String: Any], subjects: [Subject]) throws(StatementError) -> VerificationResult.Image {
        guard let image = (statement["predicate"] as? [String: Any])?["image"] as? [String: Any],
            let name = image["name"] as? String, let version = image["version"] as? String, let build = image["build"] as? Int
        else { throw StatementError("the predicate has no image name, version and build") }
        let identity = VerificationResult.Image(name: name, version: version, build: build)
        var seen: Set<String> = []
        for subject in subjects {
            guard let role = subject.role, subject.name == identity.subjectPrefix + "/" + role else {
                throw StatementError("subject \(subject.name) is not named \(identity.subjectPrefix)/<role> after the report's image")
            }
            guard seen.insert(role).inserted else { throw StatementError("two subjects have role \(role)") }
        }
        for artifact in image["artifacts"] as? [[String: Any]] ?? [] {
            guard let role = artifact["role"] as? String, let digest = artifact["sha256"] as? String,
                let subject = subjects.first(where: { $0.role == role })
            else { continue }
            guard digest.lowercased() == subject.sha256 else {
                throw StatementError("the report's \(role) digest \(digest) differs from subject \(subject.name)'s")
            }
        }
        return identity
    }

    private struct StatementError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func parseStatement(_ payload: Data) throws(StatementError) -> ([String: Any], [Subject]) {
        guard let object = try? JSONSerialization.jsonObject(with: payload), let statement = object as? [String: Any] else {
            throw StatementError("the payload is not a JSON object")
        }
        guard let type = statement["_type"] as? String else { throw StatementError("no \"_type\"") }
        guard type == statementType else { throw StatementError("_type \"\(type)\" is not \(statementType)") }
        guard let type = statement["predicateType"] as? String else { throw StatementError("no \"predicateType\"") }
        guard type == predicateType else { throw StatementError("predicateType \"\(type)\" is not \(predicateType)") }
        guard statement["predicate"] is [String: Any] else { throw StatementError("\"predicate\" is not a JSON object") }
        guard let entries = statement["subject"] as? [Any], !entries.isEmpty else {
            throw StatementError("\"subject\" is not a non-empty list")
        }
        let subjects = try entries.enumerated().map { (index, entry) throws(StatementError) -> Subject in
            guard let entry = entry as? [String: Any], let name = entry["name"] as? String else {
                throw StatementError("subject[\(index)] has no name")
            }
            guard let sha256 = (entry["digest"] as? [String: Any])?["sha256"] as? String else {
                throw StatementError("subject \(name) has no sha256 digest")
            }
            return Subject(name: name, sha256: sha256.lowercased())
        }
        return (statement, subjects)
    }

    static func isSHA256Hex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// The outcome of `Attestation.verify`: everything checked out, or the first check that failed.
public struct VerificationResult: Sendable, Equatable, CustomStringConvertible {
    /// The checks, in the order they run.
    public enum Check: String, Sendable, Equatable, CaseIterable {
        case envelope, payloadType, signature, statement, image, artifact, binding, gate, verdict
    }

    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        public var check: Check
        /// For `.artifact`: the file, as given.
        public var artifact: String?
        public var reason: String

        /// One line: `<check>: <why>`, e.g. `signature: does not verify with key …`,
        /// `artifact disk.qcow2: sha256 … is not the digest of …`, `verdict: fail (…)`.
        public var description: String {
            let name = artifact.map { "\(check.rawValue) \($0)" } ?? check.rawValue
            return "\(name): \(reason)"
        }
    }

    /// The image the predicate describes.
    public struct Image: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var version: String
        public var build: Int

        /// What every subject's name starts with.
        public var subjectPrefix: String { "\(name)-\(version)-\(build)" }
        public var description: String { "\(name) \(version)/\(build)" }
    }

    /// A file whose sha256 is that of the subject of its role.
    public struct MatchedArtifact: Sendable, Equatable {
        public var path: String
        public var role: String
        public var subject: Subject
    }

    /// The key verification was done with.
    public var keyID: String
    /// nil when every check passed.
    public var failure: Failure?
    /// The statement's subjects (empty when verification stopped before the statement).
    public var subjects: [Subject] = []
    public var image: Image?
    public var artifacts: [MatchedArtifact] = []
    /// What the checked files had to cover (nil when verification stopped before that check).
    public var coverage: VerificationRequirements.Coverage?
    /// The report's gate threshold: the lowest severity whose failure closed the gate.
    public var gateThreshold: String?
    public var verdict: String?

    public var passed: Bool { failure == nil }

    /// `verified: …` or `verification failed: <check>: <why>`, one line.
    public var description: String {
        if let failure { return "verification failed: \(failure)" }
        var parts = ["signature by key \(keyID)"]
        if let image { parts.append("image \(image)") }
        if artifacts.isEmpty {
            parts.append("no file checked: the envelope alone was verified")
        } else {
            parts.append("files match: " + artifacts.map { "\($0.role) = \($0.path)" }.joined(separator: ", "))
        }
        parts.append("gate threshold: \(gateThreshold ?? "unknown")")
        parts.append("verdict: \(verdict ?? "pass")")
        return "verified: " + parts.joined(separator: "; ")
    }

    /// The result as one JSON object for scripts: `verified`, `keyID`, `failure`, `image`,
    /// `subjects` (with `role`), `artifacts` (file, role, subject), `coverage`, `gateThreshold`, `verdict`.
    public func jsonObject() -> [String: Any] {
        var object: [String: Any] = [
            "verified": passed,
            "keyID": keyID,
            "subjects": subjects.map { ["name": $0.name, "role": $0.role ?? NSNull(), "sha256": $0.sha256] as [String: Any] },
            "artifacts": artifacts.map { ["path": $0.path, "role": $0.role, "subject": $0.subject.name, "sha256": $0.subject.sha256] },
        ]
        object["failure"] =
            failure.map { ["check": $0.check.rawValue, "artifact": $0.artifact ?? NSNull(), "reason": $0.reason] as [String: Any] }
            ?? NSNull()
        object["image"] = image.map { ["name": $0.name, "version": $0.version, "build": $0.build] as [String: Any] } ?? NSNull()
        object["coverage"] = coverage?.rawValue ?? NSNull()
        object["gateThreshold"] = gateThreshold ?? NSNull()
        object["verdict"] = verdict ?? NSNull()
        return object
    }
}
