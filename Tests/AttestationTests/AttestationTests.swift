import Foundation
import HallmarkSupport
import Testing

@testable import Attestation

@Suite struct KeyTests {
    @Test func generatedFilesArePKCS8AndSPKIWithTheRightModes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let files = try KeyFiles.generate(in: scratch.file("new/dir"))
        #expect(files.privateKeyPath == scratch.file("new/dir/hallmark.key"))
        #expect(files.publicKeyPath == scratch.file("new/dir/hallmark.pub"))

        let privateMode = try #require(FileManager.default.attributesOfItem(atPath: files.privateKeyPath)[.posixPermissions] as? Int)
        #expect(privateMode == 0o600)

        let privatePEM = try String(contentsOfFile: files.privateKeyPath, encoding: .utf8)
        let publicPEM = try String(contentsOfFile: files.publicKeyPath, encoding: .utf8)
        #expect(privatePEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n") && privatePEM.hasSuffix("-----END PRIVATE KEY-----\n"))
        #expect(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\n") && publicPEM.hasSuffix("-----END PUBLIC KEY-----\n"))

        let privateDER = try PEM.decode(privatePEM, label: "PRIVATE KEY", expecting: "", source: "")
        let publicDER = try PEM.decode(publicPEM, label: "PUBLIC KEY", expecting: "", source: "")
        #expect(privateDER.count == 48 && privateDER.prefix(16).hexString == "302e020100300506032b657004220420")
        #expect(publicDER.count == 44 && publicDER.prefix(12).hexString == "302a300506032b6570032100")

        let key = try SigningKey(pemFile: files.privateKeyPath)
        let publicKey = try VerifyingKey(pemFile: files.publicKeyPath)
        #expect(key.publicKey == publicKey)
        #expect(files.keyID == HallmarkSupport.Digest.sha256(publicDER))
        #expect(publicKey.keyID == files.keyID)
    }

    @Test func refusesToOverwriteAnExistingKey() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let first = try KeyFiles.generate(in: scratch.path)
        let before = try scratch.read("hallmark.key")
        let error = #expect(throws: HallmarkError.self) { try KeyFiles.generate(in: scratch.path) }
        #expect(error?.code == .usage)
        #expect(error?.message.contains("already exists") == true)
        #expect(try scratch.read("hallmark.key") == before)
        #expect(try VerifyingKey(pemFile: first.publicKeyPath).keyID == first.keyID)

        // A lone public key also blocks generation, and no private key is left behind.
        let other = try Scratch()
        defer { other.remove() }
        try other.write("hallmark.pub", Data("x".utf8))
        #expect(throws: HallmarkError.self) { try KeyFiles.generate(in: other.path) }
        #expect(!FileManager.default.fileExists(atPath: other.file("hallmark.key")))
    }

    /// RFC 8032 section 7.1, test 1: the public key derived from the seed, and a signature that verifies.
    @Test func derivesTheRFC8032PublicKey() throws {
        let seed = Data(hex: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let key = try SigningKey(seed: seed)
        #expect(key.publicKey.rawRepresentation.hexString == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        let signature = try key.signature(for: Data())
        #expect(signature.count == 64)
        #expect(key.publicKey.isValidSignature(signature, for: Data()))
        #expect(!key.publicKey.isValidSignature(signature, for: Data([0])))

        // PEM round trip keeps the seed.
        let reloaded = try SigningKey(pem: key.pemRepresentation, source: "mem")
        #expect(reloaded.publicKey == key.publicKey)
    }

    @Test func malformedPEMErrorsNameTheFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let files = try KeyFiles.generate(in: scratch.path)

        let garbage = try scratch.write("garbage.pem", Data("hello\n".utf8))
        var error = #expect(throws: HallmarkError.self) { try VerifyingKey(pemFile: garbage) }
        #expect(error?.code == .invalidInput)
        #expect(error?.description.hasPrefix(garbage + ": ") == true)

        // A public key where a private key is expected, and the other way round.
        error = #expect(throws: HallmarkError.self) { try SigningKey(pemFile: files.publicKeyPath) }
        #expect(
            error?.description == "\(files.publicKeyPath): expected an Ed25519 private key (PKCS#8 PEM), found a PEM \"PUBLIC KEY\" block")
        error = #expect(throws: HallmarkError.self) { try VerifyingKey(pemFile: files.privateKeyPath) }
        #expect(error?.description.contains("found a PEM \"PRIVATE KEY\" block") == true)

        let badBase64 = try scratch.write("bad64.pem", Data("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n".utf8))
        error = #expect(throws: HallmarkError.self) { try VerifyingKey(pemFile: badBase64) }
        #expect(error?.description == "\(badBase64): malformed PEM: the body between the BEGIN and END lines is not base64")

        let truncated = try scratch.write(
            "short.pem", Data("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n".utf8))
        error = #expect(throws: HallmarkError.self) { try VerifyingKey(pemFile: truncated) }
        #expect(error?.description.hasPrefix("\(truncated): not an Ed25519 public key") == true)

        // A P-256 key (not Ed25519) in the right kind of block.
        let p256 = try scratch.write(
            "p256.pub",
            Data(
                """
                -----BEGIN PUBLIC KEY-----
                MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEl+MiWMrMNPEYN7ejaNW11VlJmanw
                LlNN4tWA3BXpwPPDW8F7wNTPZhHcZc5hOxgU7FfpP1XbEwC5SN51ll1j/w==
                -----END PUBLIC KEY-----
                """.utf8))
        error = #expect(throws: HallmarkError.self) { try VerifyingKey(pemFile: p256) }
        #expect(error?.description.hasPrefix("\(p256): not an Ed25519 public key") == true)

        let missing = scratch.file("nope.pem")
        error = #expect(throws: HallmarkError.self) { try SigningKey(pemFile: missing) }
        #expect(error?.description == "\(missing): no such file; expected a readable PEM key file")
    }

    @Test func readsPEMWithCRLFAndSurroundingText() throws {
        let key = SigningKey.generate()
        let text = "comment line\r\n" + key.publicKey.pemRepresentation.replacingOccurrences(of: "\n", with: "\r\n") + "\r\n"
        #expect(try VerifyingKey(pem: text, source: "crlf.pem") == key.publicKey)
    }
}

@Suite struct DSSETests {
    /// The example from the DSSE protocol description.
    @Test func preAuthenticationEncoding() {
        let pae = DSSEEnvelope.pae(payloadType: "http://example.com/HelloWorld", payload: Data("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
        // Lengths are byte counts, not character counts.
        let unicode = DSSEEnvelope.pae(payloadType: "t", payload: Data("✓".utf8))
        #expect(String(decoding: unicode, as: UTF8.self) == "DSSEv1 1 t 3 ✓")
        #expect(String(decoding: DSSEEnvelope.pae(payloadType: "", payload: Data()), as: UTF8.self) == "DSSEv1 0  0 ")
    }

    @Test func statementEmbedsTheReportAsPredicate() throws {
        let subjects = [Subject(name: "disk.qcow2", sha256: String(repeating: "ab", count: 32))]
        let payload = try Attestation.statement(reportJSON: sampleReport(), subjects: subjects)
        let statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] as? String == "https://hallmark.dev/audit-report/v1")
        let subject = try #require((statement["subject"] as? [[String: Any]])?.first)
        #expect(subject["name"] as? String == "disk.qcow2")
        #expect((subject["digest"] as? [String: String]) == ["sha256": String(repeating: "ab", count: 32)])
        // The predicate is the report, value for value.
        let report = try JSONSerialization.jsonObject(with: sampleReport()) as! NSDictionary
        #expect((statement["predicate"] as? NSDictionary) == report)
        #expect(String(decoding: payload, as: UTF8.self).contains("\"boot\":12.345678901234567"))

        #expect(throws: HallmarkError.self) { try Attestation.statement(reportJSON: Data("[1]".utf8), subjects: subjects) }
        #expect(throws: HallmarkError.self) { try Attestation.statement(reportJSON: Data("{".utf8), subjects: subjects) }
        #expect(throws: HallmarkError.self) { try Attestation.statement(reportJSON: sampleReport(), subjects: []) }
        #expect(throws: HallmarkError.self) {
            try Attestation.statement(reportJSON: sampleReport(), subjects: [Subject(name: "x", sha256: "ABC")])
        }
    }

    @Test func envelopeShape() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let envelope = try #require(try JSONSerialization.jsonObject(with: fixture.envelope) as? [String: Any])
        #expect(Set(envelope.keys) == ["payload", "payloadType", "signatures"])
        #expect(envelope["payloadType"] as? String == "application/vnd.in-toto+json")
        let signatures = try #require(envelope["signatures"] as? [[String: String]])
        #expect(signatures.count == 1)
        #expect(signatures[0]["keyid"] == fixture.keys.keyID)
        #expect(Data(base64Encoded: signatures[0]["sig"]!)?.count == 64)
    }
}

@Suite struct VerificationTests {
    @Test func roundTripVerifies() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let result = try await fixture.verify()
        #expect(result.passed, "\(result)")
        #expect(result.failure == nil)
        #expect(result.keyID == fixture.keys.keyID)
        let names = ["disk.qcow2", "disk.raw", "vmlinuz"].map { "debian-12-minimal-1.0.0-1/" + $0 }
        #expect(result.subjects.map(\.name) == names)
        #expect(result.artifacts.map(\.subject.name) == names)
        #expect(result.artifacts.map(\.role) == ["disk.qcow2", "disk.raw", "vmlinuz"])
        #expect(result.image?.description == "debian-12-minimal 1.0.0/1")
        #expect(result.gateThreshold == "info")
        #expect(
            result.description.hasPrefix(
                "verified: signature by key \(fixture.keys.keyID); image debian-12-minimal 1.0.0/1; files match: disk.qcow2 = "))
        #expect(result.description.hasSuffix("; gate threshold: info; verdict: pass"))
        // Checking the envelope alone is allowed only when asked for; signature, statement and verdict still count.
        let alone = try await fixture.verify(requiring: .init(coverage: .nothing))
        #expect(alone.passed)
        #expect(alone.description.contains("no file checked"))
    }

    @Test func flippedPayloadByteFailsTheSignature() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let payloadLength = try #require(Data(base64Encoded: DSSEEnvelope.decode(fixture.envelope).payload)).count
        for index in [0, payloadLength / 2, payloadLength - 1] {
            let tampered = try editEnvelope(fixture.envelope) { $0["payload"] = flipByte(inBase64: $0["payload"] as! String, at: index) }
            let result = try await fixture.verify(tampered)
            #expect(result.failure?.check == .signature)
            #expect(result.failure?.description == "signature: does not verify with key \(fixture.keys.keyID)")
            #expect(result.description == "verification failed: signature: does not verify with key \(fixture.keys.keyID)")
        }
    }

    @Test func flippedSignatureByteFailsTheSignature() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        for index in [0, 31, 63] {
            let tampered = try editEnvelope(fixture.envelope) { envelope in
                var signatures = envelope["signatures"] as! [[String: Any]]
                signatures[0]["sig"] = flipByte(inBase64: signatures[0]["sig"] as! String, at: index)
                envelope["signatures"] = signatures
            }
            #expect(try await fixture.verify(tampered).failure?.check == .signature)
        }
    }

    @Test func changedArtifactIsNotASubject() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let disk = fixture.artifacts[0]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: disk))
        bytes[100] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: disk))
        let digest = try await HallmarkSupport.Digest.sha256(fileAt: disk)
        let result = try await fixture.verify()
        #expect(result.failure?.check == .artifact)
        #expect(result.failure?.artifact == disk)
        #expect(
            result.failure?.description == "artifact \(disk): sha256 \(digest) is not the digest of debian-12-minimal-1.0.0-1/disk.qcow2")

        // An unreadable artifact fails the same check rather than throwing.
        let missing = fixture.scratch.file("gone/disk.qcow2")
        let absent = try await fixture.verify(artifacts: [missing])
        #expect(absent.failure?.check == .artifact)
        #expect(absent.failure?.description.hasPrefix("artifact \(missing): cannot read") == true)
    }

    @Test func wrongPayloadTypeFails() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let tampered = try editEnvelope(fixture.envelope) { $0["payloadType"] = "application/json" }
        let result = try await fixture.verify(tampered)
        #expect(result.failure?.check == .payloadType)
        #expect(result.failure?.description == "payloadType: \"application/json\" is not application/vnd.in-toto+json")
    }

    @Test func failingVerdictFails() async throws {
        let fixture = try await SignedFixture(verdict: "fail")
        defer { fixture.scratch.remove() }
        let result = try await fixture.verify()
        #expect(result.failure?.check == .verdict)
        #expect(result.failure?.description == "verdict: fail (gate closed: 1 control(s) failed: sshd-permit-root-login)")
    }

    @Test func otherKeyFailsTheSignature() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let other = SigningKey.generate().publicKey
        let result = try await Attestation.verify(
            envelope: fixture.envelope, publicKey: other, requirements: .init(artifacts: fixture.artifacts.map { .init(path: $0) }))
        #expect(result.failure?.description == "signature: does not verify with key \(other.keyID)")
    }

    @Test func anySignatureEntryMayVerify() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let stranger = try SigningKey.generate().signature(for: Data("x".utf8)).base64EncodedString()
        let withExtra = try editEnvelope(fixture.envelope) { envelope in
            let signatures = envelope["signatures"] as! [[String: Any]]
            envelope["signatures"] = [["keyid": "someone-else", "sig": stranger]] + signatures
        }
        #expect(try await fixture.verify(withExtra).passed)
        let none = try editEnvelope(fixture.envelope) { $0["signatures"] = [[String: Any]]() }
        #expect(try await fixture.verify(none).failure?.description == "signature: the envelope has no signatures")
    }

    @Test func malformedEnvelopesFailTheEnvelopeCheck() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let cases: [(Data, String)] = [
            (Data("not json".utf8), "envelope: not a DSSE envelope: not JSON"),
            (try editEnvelope(fixture.envelope) { $0["payload"] = nil }, "envelope: not a DSSE envelope: missing \"payload\""),
            (try editEnvelope(fixture.envelope) { $0["payload"] = "%%%" }, "envelope: not a DSSE envelope: \"payload\" is not base64"),
            (
                try editEnvelope(fixture.envelope) { $0["signatures"] = [["sig": "%%%"]] },
                "envelope: not a DSSE envelope: \"signatures[0].sig\" is not base64"
            ),
        ]
        for (envelope, expected) in cases {
            let result = try await fixture.verify(envelope)
            #expect(result.failure?.check == .envelope)
            #expect(result.failure?.description == expected)
        }
    }

    /// A correctly signed payload that is not Hallmark's statement fails the statement check.
    @Test func signedNonStatementFailsTheStatementCheck() async throws {
        let key = SigningKey.generate()
        let payloads: [(String, String)] = [
            ("[]", "statement: the payload is not a JSON object"),
            (
                #"{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"x","predicate":{}}"#,
                "statement: _type \"https://in-toto.io/Statement/v0.1\" is not https://in-toto.io/Statement/v1"
            ),
            (
                #"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{}}"#,
                "statement: predicateType \"https://slsa.dev/provenance/v1\" is not https://hallmark.dev/audit-report/v1"
            ),
            (
                #"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://hallmark.dev/audit-report/v1","predicate":{}}"#,
                "statement: \"subject\" is not a non-empty list"
            ),
        ]
        for (payload, expected) in payloads {
            let envelope = try DSSEEnvelope.sign(payload: Data(payload.utf8), payloadType: Attestation.payloadType, with: key).encoded()
            let result = try await Attestation.verify(envelope: envelope, publicKey: key.publicKey, requirements: .init(coverage: .nothing))
            #expect(result.failure?.check == .statement)
            #expect(result.failure?.description == expected)
        }
    }

    /// DSSE allows URL-safe, unpadded base64 and omitting keyid.
    @Test func acceptsURLSafeBase64AndNoKeyID() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        func urlSafe(_ text: String) -> String {
            text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        }
        let rewritten = try editEnvelope(fixture.envelope) { envelope in
            envelope["payload"] = urlSafe(envelope["payload"] as! String)
            let signature = (envelope["signatures"] as! [[String: Any]])[0]["sig"] as! String
            envelope["signatures"] = [["sig": urlSafe(signature)]]
        }
        #expect(try await fixture.verify(rewritten).passed)
    }
}

extension Data {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }

    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}

@Suite struct SigningKeyPermissionTests {
    static func keyFile(mode: Int) throws -> (Scratch, String) {
        let scratch = try Scratch()
        let files = try KeyFiles.generate(in: scratch.file("keys"))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: files.privateKeyPath)
        return (scratch, files.privateKeyPath)
    }

    @Test(arguments: [0o620, 0o602, 0o666])
    func aKeyOthersCanWriteIsRefused(mode: Int) throws {
        let (scratch, path) = try Self.keyFile(mode: mode)
        defer { scratch.remove() }
        let error = try #require(throws: HallmarkError.self) { try SigningKey(pemFile: path) }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("chmod 600"), "\(error)")
        #expect(error.location?.file == path)
    }

    @Test(arguments: [(0o644, "everyone"), (0o640, "its group")])
    func aKeyOthersCanReadIsUsedWithAWarning(mode: Int, who: String) throws {
        let (scratch, path) = try Self.keyFile(mode: mode)
        defer { scratch.remove() }
        var warnings: [String] = []
        _ = try SigningKey(pemFile: path) { warnings.append($0) }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("readable by \(who)") == true && warnings.first?.contains("chmod 600") == true, "\(warnings)")
    }

    @Test func aPrivateKeyIsUsedSilently() throws {
        let (scratch, path) = try Self.keyFile(mode: 0o600)
        defer { scratch.remove() }
        var warnings: [String] = []
        _ = try SigningKey(pemFile: path) { warnings.append($0) }
        #expect(warnings.isEmpty)
    }
}
