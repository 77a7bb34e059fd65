import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Attestation

/// The README verifies Tests/Fixtures/example-evidence/report.dsse.json without a VM: it must be a
/// passing envelope around that directory's report.json, bound to its disk.qcow2.
/// HALLMARK_UPDATE_FIXTURES=1 signs it again with a new key (hallmark.pub is rewritten; the private
/// key is thrown away).
@Suite struct ExampleEnvelopeTests {
    static let directory = Repository.fixture("example-evidence")

    @Test("Tests/Fixtures/example-evidence/report.dsse.json verifies (HALLMARK_UPDATE_FIXTURES=1 signs it again)")
    func exampleEnvelopeVerifies() async throws {
        let report = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/report.json"))
        let disk = Self.directory + "/disk.qcow2"
        if ProcessInfo.processInfo.environment["HALLMARK_UPDATE_FIXTURES"] == "1" {
            let scratch = try TemporaryDirectory()
            defer { scratch.remove() }
            let keys = try KeyFiles.generate(in: scratch.file("keys"))
            let subject = Subject(name: "example-1.0.0-1/disk.qcow2", sha256: try await HallmarkSupport.Digest.sha256(fileAt: disk))
            let envelope = try Attestation.signReport(reportJSON: report, subjects: [subject], privateKeyPEMPath: keys.privateKeyPath)
            try envelope.write(to: URL(fileURLWithPath: Self.directory + "/report.dsse.json"))
            try Data(contentsOf: URL(fileURLWithPath: keys.publicKeyPath)).write(to: URL(fileURLWithPath: Self.directory + "/hallmark.pub"))
        }
        let envelope = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/report.dsse.json"))
        let result = try await Attestation.verify(
            envelope: envelope, publicKeyPEMPath: Self.directory + "/hallmark.pub",
            requirements: VerificationRequirements(artifacts: [.init(path: disk)]))
        #expect(result.passed, "\(result)")
        // The predicate is today's report.json, byte for byte.
        let payload = try #require(Data(base64Encoded: try DSSEEnvelope.decode(envelope).payload))
        let statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        let predicate = try JSONSerialization.data(withJSONObject: statement["predicate"] ?? [:], options: [.sortedKeys])
        let expected = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: report), options: [.sortedKeys])
        #expect(predicate == expected, "report.dsse.json signs another report.json; rerun with HALLMARK_UPDATE_FIXTURES=1")
    }
}
