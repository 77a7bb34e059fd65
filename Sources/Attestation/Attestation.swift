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
    /// `publicKey`; the payload is an in-toto Statement v1 with Hallmark's predicate type; every file in
    /// `artifacts` has a sha256 among the subjects; the predicate's `gate.verdict` is "pass".
    /// The result names the first check that failed. Throws only when cancelled.
    public static func verify(envelope: Data, publicKey: VerifyingKey, artifacts: [String] = []) async throws -> VerificationResult {
        let keyID = publicKey.keyID
        func failed(_ check: VerificationResult.Check, _ reason: String, artifact: String? = nil) -> VerificationResult {
            VerificationResult(keyID: keyID, failure: .init(check: check, artifact: artifact, reason: reason))
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
        let subjects: [Subject]
        do {
            (statement, subjects) = try parseStatement(payload)
        } catch {
            return failed(.statement, error.description)
        }

        // 5. artifacts
        var matched: [VerificationResult.MatchedArtifact] = []
        for path in artifacts {
            let digest: String
            do {
                digest = try await HallmarkSupport.Digest.sha256(fileAt: path)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try Task.checkCancellation()
                return failed(.artifact, "cannot read it to compute its sha256", artifact: path)
            }
            guard let subject = subjects.first(where: { $0.sha256 == digest }) else {
                return failed(.artifact, "sha256 \(digest) is not a subject", artifact: path)
            }
            matched.append(.init(path: path, subject: subject))
        }

        // 6. verdict
        let gate = (statement["predicate"] as? [String: Any])?["gate"] as? [String: Any]
        guard let verdict = gate?["verdict"] as? String else {
            return failed(.verdict, "the predicate has no gate.verdict")
        }
        guard verdict == "pass" else {
            let summary = (gate?["summary"] as? String).map { " (\($0))" } ?? ""
            return failed(.verdict, verdict + summary)
        }
        return VerificationResult(keyID: keyID, subjects: subjects, artifacts: matched, verdict: verdict)
    }

    /// Verifies with the SPKI PEM public key at `publicKeyPEMPath` (throws if that file is unreadable or malformed).
    public static func verify(envelope: Data, publicKeyPEMPath: String, artifacts: [String] = []) async throws -> VerificationResult {
        try await verify(envelope: envelope, publicKey: VerifyingKey(pemFile: publicKeyPEMPath), artifacts: artifacts)
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
        case envelope, payloadType, signature, statement, artifact, verdict
    }

    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        public var check: Check
        /// For `.artifact`: the file, as given.
        public var artifact: String?
        public var reason: String

        /// One line: `<check>: <why>`, e.g. `signature: does not verify with key …`,
        /// `artifact disk.qcow2: sha256 … is not a subject`, `verdict: fail (…)`.
        public var description: String {
            let name = artifact.map { "\(check.rawValue) \($0)" } ?? check.rawValue
            return "\(name): \(reason)"
        }
    }

    public struct MatchedArtifact: Sendable, Equatable {
        public var path: String
        public var subject: Subject
    }

    /// The key verification was done with.
    public var keyID: String
    /// nil when every check passed.
    public var failure: Failure?
    /// The statement's subjects (empty when verification stopped before the statement).
    public var subjects: [Subject] = []
    public var artifacts: [MatchedArtifact] = []
    public var verdict: String?

    public var passed: Bool { failure == nil }

    /// `verified: …` or `verification failed: <check>: <why>`, one line.
    public var description: String {
        if let failure { return "verification failed: \(failure)" }
        var parts = ["signature by key \(keyID)", "subjects: \(subjects.map(\.name).joined(separator: ", "))"]
        if !artifacts.isEmpty {
            parts.append("artifacts match: " + artifacts.map { "\($0.path) = \($0.subject.name)" }.joined(separator: ", "))
        }
        parts.append("verdict: \(verdict ?? "pass")")
        return "verified: " + parts.joined(separator: "; ")
    }
}
