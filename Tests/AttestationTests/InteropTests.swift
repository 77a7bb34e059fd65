import Foundation
import HallmarkSupport
import Testing

@testable import Attestation

/// The README's recipe for checking report.dsse.json with jq, base64, printf and openssl alone.
/// The test runs these exact lines with bash after setting `env`, `pub` and `disk`.
let opensslRecipe = """
    jq -r .payload "$env" | base64 -d > payload.json
    jq -r '.signatures[0].sig' "$env" | base64 -d > sig.bin
    type=$(jq -r .payloadType "$env")
    { printf 'DSSEv1 %d %s %d ' "${#type}" "$type" "$(wc -c < payload.json)"; cat payload.json; } > pae.bin
    openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in pae.bin -sigfile sig.bin
    jq -e '._type == "https://in-toto.io/Statement/v1" and .predicate.gate.verdict == "pass"' payload.json
    jq -r '.subject[] | select(.name | endswith("/disk.qcow2")) | .digest.sha256' payload.json | grep -qx "$(sha256sum "$disk" | cut -d' ' -f1)"
    """

/// Verifies a DSSE envelope with securesystemslib: argv[1] envelope, argv[2] SPKI PEM public key.
/// The keyid securesystemslib matches signatures by is computed here as sha256 of the SPKI DER,
/// independently of Hallmark.
let securesystemslibScript = """
    import hashlib, json, sys
    from cryptography.hazmat.primitives import serialization
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey

    envelope_path, public_key_path = sys.argv[1:3]
    with open(public_key_path, "rb") as f:
        public_key = serialization.load_pem_public_key(f.read())
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    key = SSlibKey.from_crypto(public_key, keyid=hashlib.sha256(der).hexdigest())
    with open(envelope_path) as f:
        envelope = Envelope.from_dict(json.load(f))
    assert envelope.payload_type == "application/vnd.in-toto+json", envelope.payload_type
    accepted = envelope.verify([key], 1)
    statement = json.loads(envelope.payload)
    print("verified", key.keytype, key.scheme, ",".join(accepted), statement["_type"], statement["predicate"]["gate"]["verdict"])
    """

@Suite struct OpenSSLInteropTests {
    /// Writes the envelope's PAE and signature as files openssl reads.
    static func writePAEAndSignature(of envelope: Data, into scratch: Scratch, prefix: String) throws -> (pae: String, sig: String) {
        let parsed = try DSSEEnvelope.decode(envelope)
        let pae = DSSEEnvelope.pae(payloadType: parsed.payloadType, payload: try parsed.payloadBytes())
        let signature = try #require(Data(base64Encoded: parsed.signatures[0].sig))
        return (try scratch.write(prefix + "pae.bin", pae), try scratch.write(prefix + "sig.bin", signature))
    }

    @Test func opensslVerifiesHallmarksSignature() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let scratch = fixture.scratch, pub = fixture.keys.publicKeyPath

        let good = try Self.writePAEAndSignature(of: fixture.envelope, into: scratch, prefix: "good-")
        let accepted = try await run(
            "openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", good.pae, "-sigfile", good.sig])
        #expect(accepted.status == .exited(0), "\(accepted.output)")
        #expect(accepted.output.contains("Signature Verified Successfully"))

        let tampered = try editEnvelope(fixture.envelope) { $0["payload"] = flipByte(inBase64: $0["payload"] as! String, at: 10) }
        let bad = try Self.writePAEAndSignature(of: tampered, into: scratch, prefix: "bad-")
        let rejected = try await run(
            "openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", bad.pae, "-sigfile", bad.sig])
        #expect(rejected.status != .exited(0))
        #expect(rejected.output.contains("Signature Verification Failure"))
    }

    @Test func envelopeSignedByOpenSSLVerifiesInHallmark() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let scratch = fixture.scratch
        let payload = try DSSEEnvelope.decode(fixture.envelope).payloadBytes()
        let pae = try scratch.write("openssl-pae.bin", DSSEEnvelope.pae(payloadType: Attestation.payloadType, payload: payload))
        let sig = scratch.file("openssl-sig.bin")
        _ = try await HostCommand(
            "openssl", ["pkeyutl", "-sign", "-inkey", fixture.keys.privateKeyPath, "-rawin", "-in", pae, "-out", sig]
        ).output()

        let signature = try scratch.read("openssl-sig.bin")
        #expect(signature.count == 64)
        let envelope = try DSSEEnvelope(
            payload: payload, payloadType: Attestation.payloadType,
            signatures: [.init(keyid: fixture.keys.keyID, sig: signature.base64EncodedString())]
        ).encoded()
        let result = try await fixture.verify(envelope)
        #expect(result.passed, "\(result)")
    }

    /// A key made by `openssl genpkey` signs in Hallmark; openssl derives the same public key and key id.
    @Test func opensslGeneratedKeyWorksInHallmark() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let keyPath = scratch.file("openssl.key"), pubPath = scratch.file("openssl.pub"), derPath = scratch.file("openssl.der")
        _ = try await HostCommand("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyPath]).output()
        _ = try await HostCommand("openssl", ["pkey", "-in", keyPath, "-pubout", "-out", pubPath]).output()
        _ = try await HostCommand("openssl", ["pkey", "-pubin", "-in", pubPath, "-outform", "DER", "-out", derPath]).output()

        let key = try SigningKey(pemFile: keyPath)
        let opensslPublic = try VerifyingKey(pemFile: pubPath)
        #expect(key.publicKey == opensslPublic)
        #expect(key.publicKey.pemRepresentation == (try String(contentsOfFile: pubPath, encoding: .utf8)))
        #expect(key.pemRepresentation == (try String(contentsOfFile: keyPath, encoding: .utf8)))
        #expect(key.publicKey.keyID == HallmarkSupport.Digest.sha256(try scratch.read("openssl.der")))

        let subject = Subject(name: "debian-12-minimal-1.0.0-1/disk.raw", sha256: String(repeating: "0", count: 64))
        let envelope = try Attestation.signReport(reportJSON: sampleReport(), subjects: [subject], privateKeyPEMPath: keyPath)
        let files = try Self.writePAEAndSignature(of: envelope, into: scratch, prefix: "")
        let verified = try await run(
            "openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pubPath, "-rawin", "-in", files.pae, "-sigfile", files.sig])
        #expect(verified.status == .exited(0), "\(verified.output)")
        #expect(try await Attestation.verify(envelope: envelope, publicKeyPEMPath: pubPath, requirements: .init(coverage: .nothing)).passed)
    }

    /// The README recipe, run as written with bash.
    @Test func readmeRecipeVerifiesAndRejects() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        func recipe(envelope: String, disk: String) -> [String] {
            let script = """
                cd \(shellQuoted(fixture.scratch.path))
                env=\(shellQuoted(envelope)) pub=\(shellQuoted(fixture.keys.publicKeyPath)) disk=\(shellQuoted(disk))
                \(opensslRecipe)
                """
            return ["-euo", "pipefail", "-c", script]
        }

        let passed = try await run("/bin/bash", recipe(envelope: fixture.envelopePath, disk: fixture.artifacts[0]))
        #expect(passed.status == .exited(0), "\(passed.output)")
        #expect(passed.output.contains("Signature Verified Successfully"))

        let tampered = try editEnvelope(fixture.envelope) { $0["payload"] = flipByte(inBase64: $0["payload"] as! String, at: 42) }
        let tamperedPath = try fixture.scratch.write("tampered.dsse.json", tampered)
        let rejected = try await run("/bin/bash", recipe(envelope: tamperedPath, disk: fixture.artifacts[0]))
        #expect(rejected.status != .exited(0))
        #expect(rejected.output.contains("Signature Verification Failure"))

        let otherFile = try fixture.scratch.write("other.qcow2", Data("not the image".utf8))
        let wrongArtifact = try await run("/bin/bash", recipe(envelope: fixture.envelopePath, disk: otherFile))
        #expect(wrongArtifact.status != .exited(0))

        let failing = try await SignedFixture(verdict: "fail")
        defer { failing.scratch.remove() }
        let failedVerdict = try await run(
            "/bin/bash",
            [
                "-euo", "pipefail", "-c",
                "cd \(shellQuoted(failing.scratch.path))\nenv=\(shellQuoted(failing.envelopePath)) pub=\(shellQuoted(failing.keys.publicKeyPath)) disk=\(shellQuoted(failing.artifacts[0]))\n\(opensslRecipe)",
            ])
        #expect(failedVerdict.status != .exited(0))
        #expect(failedVerdict.output.contains("Signature Verified Successfully"))
    }
}

@Suite struct SecureSystemsLibInteropTests {
    @Test func securesystemslibVerifiesTheEnvelope() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let script = try fixture.scratch.write("verify.py", Data(securesystemslibScript.utf8))

        let verified = try await run("python3", [script, fixture.envelopePath, fixture.keys.publicKeyPath])
        #expect(
            verified.status == .exited(0),
            "securesystemslib could not verify (install it with scripts/install-deps.sh): \(verified.output)")
        #expect(verified.output.contains("verified ed25519 ed25519 \(fixture.keys.keyID) https://in-toto.io/Statement/v1 pass"))

        let tampered = try editEnvelope(fixture.envelope) { $0["payload"] = flipByte(inBase64: $0["payload"] as! String, at: 7) }
        let tamperedPath = try fixture.scratch.write("tampered.dsse.json", tampered)
        let rejected = try await run("python3", [script, tamperedPath, fixture.keys.publicKeyPath])
        #expect(rejected.status != .exited(0))
        #expect(rejected.output.contains("VerificationError"))
    }
}
