import Attestation
import Compliance
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Pipeline

/// The test stage's evidence set with its real writers: an interrupt anywhere in writing or
/// signing leaves the earlier complete set, and a published set is the new one entire.
@Suite struct EvidenceSetTests {
    struct Interrupted: Error {}

    static func evidence(build: Int, message: String) -> EvidenceSet {
        let control = Control(
            id: "ssh-root", title: "Root login off", severity: .high, rationale: nil, remediation: nil,
            references: [:], check: .reboot, location: SourceLocation(file: "p.yaml", line: 3, column: 5))
        let result = ControlResult(control: control, policyID: "baseline", status: .fail, message: message, evidence: "")
        let report = AuditReport(
            tool: .init(version: "test"),
            image: .init(
                name: "img", version: "1.0.0", build: build,
                artifacts: [
                    .init(role: "disk.raw", path: "/images/img/disk.raw", sha256: String(repeating: "ab", count: 32), sizeBytes: 1)
                ]),
            host: .init(hostname: "h", qemuVersion: nil, accelerator: nil), inputs: [], timings: StageTimings(),
            results: [result], threshold: .info, startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 1),
            factsSHA256: nil)
        return EvidenceSet(
            report: report, facts: Data("{\"build\":\(build)}".utf8), collectorScript: "# build \(build)\n",
            imageCollectorScript: nil, junit: .standard)
    }

    /// A report directory `<scratch>/img/1.0.0-1`; the scratch goes with the test.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory(prefix: "hallmark-evidence-set") }

    func reportDirectory() throws -> String {
        let directory = scratch.path + "/img/1.0.0-1"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func contents(of directory: String) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            files[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return files
    }

    let console = Console(quiet: true)

    @Test func anInterruptWhileSigningLeavesTheEarlierSetByteForByte() throws {
        let directory = try reportDirectory()
        let key = SigningKey.generate()
        try Self.evidence(build: 1, message: "first").publish(into: directory, signingKey: { key }, console: console)
        let before = try Self.contents(of: directory)
        #expect(Set(before.keys) == EvidenceSet.requiredFiles.union(["report.dsse.json"]))

        // The key is read last, after every other file is written: failing there is the latest interrupt.
        #expect(throws: Interrupted.self) {
            try Self.evidence(build: 2, message: "second").publish(into: directory, signingKey: { throw Interrupted() }, console: console)
        }
        #expect(try Self.contents(of: directory) == before)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (directory as NSString).deletingLastPathComponent)
        #expect(siblings == ["1.0.0-1"], "a staging directory was left: \(siblings)")
    }

    @Test func anUnsignedSetReplacesTheWholeSignedOneAndKeepsTheLogs() throws {
        let directory = try reportDirectory()
        try Self.evidence(build: 1, message: "first").publish(into: directory, signingKey: { SigningKey.generate() }, console: console)
        try "serial console\n".write(toFile: directory + "/console.log", atomically: false, encoding: .utf8)
        try Self.evidence(build: 2, message: "second").publish(into: directory, signingKey: { nil }, console: console)

        let after = try Self.contents(of: directory)
        // The earlier envelope signed the earlier report: it must not sit beside the new one.
        #expect(Set(after.keys) == EvidenceSet.requiredFiles.union(["console.log"]))
        let report = try JSONSerialization.jsonObject(with: after["report.json"]!) as? [String: Any]
        #expect((report?["image"] as? [String: Any])?["build"] as? Int == 2)
        #expect(String(decoding: after["collector.sh"]!, as: UTF8.self) == "# build 2\n")
        #expect(String(decoding: after["junit.xml"]!, as: UTF8.self).contains("second"))
    }

    @Test func strayEvidenceThatIsNotAPublishedSetIsRemovedBeforeATest() throws {
        let directory = try reportDirectory()
        try "<testsuites/>".write(toFile: directory + "/junit.xml", atomically: true, encoding: .utf8)
        try "log".write(toFile: directory + "/build.log", atomically: true, encoding: .utf8)
        EvidenceSet.removeIncompleteSet(in: directory)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["build.log"])
    }

    @Test func aCompleteEarlierSetStaysUntilTheNewOneIsPublished() throws {
        let directory = try reportDirectory()
        try Self.evidence(build: 1, message: "first").publish(into: directory, signingKey: { nil }, console: console)
        let before = try Self.contents(of: directory)
        EvidenceSet.removeIncompleteSet(in: directory)
        #expect(try Self.contents(of: directory) == before)
    }
}
