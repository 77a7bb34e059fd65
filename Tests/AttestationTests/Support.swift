import Foundation
import HallmarkSupport
import HallmarkTestSupport

@testable import Attestation

/// A scratch directory removed by the caller (`defer { scratch.remove() }`).
typealias Scratch = TemporaryDirectory

/// A report.json shaped like Evidence's AuditReport (pretty-printed, sorted keys), with awkward values:
/// fractional timings, a slash, non-ASCII text, nulls.
func sampleReport(
    verdict: String = "pass", image: String = "debian-12-minimal", version: String = "1.0.0", build: Int = 1,
    threshold: String = "info"
) -> Data {
    Data(
        """
        {
          "controls" : [
            {
              "evidence" : "PermitRootLogin no\\n",
              "id" : "sshd-permit-root-login",
              "message" : "PermitRootLogin is \\"no\\" ✓",
              "references" : { "cis" : "5.1.20", "nist" : [ "AC-6", "IA-2" ] },
              "result" : "\(verdict == "pass" ? "pass" : "fail")",
              "severity" : "high"
            }
          ],
          "counts" : { "fail" : \(verdict == "pass" ? 0 : 1), "pass" : \(verdict == "pass" ? 1 : 0) },
          "factsSHA256" : null,
          "finishedAt" : "2024-05-06T07:08:09Z",
          "gate" : {
            "summary" : "\(verdict == "pass" ? "gate open: 1 control(s) evaluated" : "gate closed: 1 control(s) failed: sshd-permit-root-login")",
            "threshold" : "\(threshold)",
            "verdict" : "\(verdict)"
          },
          "host" : { "accelerator" : "tcg", "hostname" : "builder-1", "qemuVersion" : "7.2.11" },
          "image" : {
            "artifacts" : [ { "path" : "/var/lib/hallmark/images/debian-12-minimal/1.0.0-1/disk.qcow2", "role" : "qcow2", "sha256" : "00", "sizeBytes" : 123456789 } ],
            "build" : \(build), "name" : "\(image)", "version" : "\(version)"
          },
          "inputs" : [ ],
          "schemaVersion" : "1.0",
          "startedAt" : "2024-05-06T07:00:00Z",
          "timings" : { "boot" : 12.345678901234567, "checks" : 0.1, "reboot" : 30 },
          "tool" : { "name" : "hallmark", "version" : "0.1.0" }
        }
        """.utf8)
}

/// The kernel both sample images ship: the same bytes, so the same digest in both envelopes.
let sharedKernel = Data((0..<2048).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) })

/// Keys, an image directory (files named by role) and a signed envelope in a scratch directory.
/// Subjects are named `<image>-<version>-<build>/<role>` as the pipeline names them.
struct SignedFixture {
    let scratch: Scratch
    let keys: KeyFiles
    let envelopePath: String
    /// The image's files, `disk.qcow2` first: the boot disk.
    let artifacts: [String]
    let imageDirectory: String
    let subjectPrefix: String

    init(
        verdict: String = "pass", image: String = "debian-12-minimal", version: String = "1.0.0", build: Int = 1,
        threshold: String = "info", diskSeed: UInt8 = 31, keys existingKeys: KeyFiles? = nil
    ) async throws {
        scratch = try Scratch()
        keys = try existingKeys ?? KeyFiles.generate(in: scratch.file("keys"))
        imageDirectory = scratch.file("image")
        try FileManager.default.createDirectory(atPath: imageDirectory, withIntermediateDirectories: true)
        let files: [(String, Data)] = [
            ("disk.qcow2", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* Int(diskSeed)) })),
            ("disk.raw", Data(repeating: diskSeed, count: 8192)),
            ("vmlinuz", sharedKernel),
        ]
        subjectPrefix = "\(image)-\(version)-\(build)"
        var subjects: [Subject] = [], paths: [String] = []
        for (role, contents) in files {
            let path = try scratch.write("image/" + role, contents)
            paths.append(path)
            subjects.append(Subject(name: subjectPrefix + "/" + role, sha256: try await HallmarkSupport.Digest.sha256(fileAt: path)))
        }
        artifacts = paths
        let report = sampleReport(verdict: verdict, image: image, version: version, build: build, threshold: threshold)
        let envelope = try Attestation.signReport(reportJSON: report, subjects: subjects, privateKeyPEMPath: keys.privateKeyPath)
        envelopePath = try scratch.write("report.dsse.json", envelope)
    }

    var envelope: Data { get throws { try scratch.read("report.dsse.json") } }

    /// Verifies with every file of the image (the boot disk among them) unless told otherwise.
    func verify(_ envelope: Data? = nil, artifacts: [String]? = nil) async throws -> VerificationResult {
        let files = (artifacts ?? self.artifacts).map { VerificationRequirements.ArtifactFile(path: $0) }
        return try await verify(envelope, requiring: VerificationRequirements(artifacts: files))
    }

    func verify(_ envelope: Data? = nil, requiring requirements: VerificationRequirements) async throws -> VerificationResult {
        try await Attestation.verify(envelope: envelope ?? self.envelope, publicKeyPEMPath: keys.publicKeyPath, requirements: requirements)
    }
}

/// The envelope's JSON as a dictionary, changed by `change`, serialized again.
func editEnvelope(_ envelope: Data, _ change: (inout [String: Any]) throws -> Void) throws -> Data {
    var object = try JSONSerialization.jsonObject(with: envelope) as! [String: Any]
    try change(&object)
    return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
}

/// Flips the low bit of one byte of base64-encoded data and re-encodes it.
func flipByte(inBase64 text: String, at index: Int) -> String {
    var data = Data(base64Encoded: text)!
    data[data.startIndex + index] ^= 0x01
    return data.base64EncodedString()
}

/// Runs a command and reports its exit status and combined output instead of throwing on failure.
func run(_ executable: String, _ arguments: [String]) async throws -> (status: Termination, output: String) {
    try await runCapturingOutput(executable, arguments)
}
