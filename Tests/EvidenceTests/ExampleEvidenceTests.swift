import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import JUnitXML
import Testing

@testable import Evidence

/// Tests/Fixtures/example-evidence holds the evidence the README's examples work on without a VM
/// (`xmllint` on junit.xml, `hallmark verify` on report.dsse.json): it must be exactly what the
/// writers produce today, so the README shows real output. HALLMARK_UPDATE_FIXTURES=1 rewrites it
/// (then run AttestationTests' example envelope test the same way to sign it again).
@Suite struct ExampleEvidenceTests {
    static let directory = Repository.fixture("example-evidence")
    static let updating = ProcessInfo.processInfo.environment["HALLMARK_UPDATE_FIXTURES"] == "1"

    static func audit() throws -> AuditReport {
        let disk = directory + "/disk.qcow2"
        let digest = HallmarkSupport.Digest.sha256(try Data(contentsOf: URL(fileURLWithPath: disk)))
        let results = [
            ("sshd-permit-root-login", "SSH root login is disabled"), ("no-empty-passwords", "No account has an empty password"),
        ]
        .enumerated().map { index, control in
            var result = ControlResult(
                control: Control(
                    id: control.0, title: control.1, severity: .high, rationale: nil, remediation: nil, references: [:], check: .reboot,
                    location: SourceLocation(file: "policies/debian-baseline.yaml", line: 23 + 9 * index, column: 5), tags: []),
                policyID: "debian-baseline", status: .pass, message: "\(control.1)", evidence: "")
            result.observedIn = [.image]
            return result
        }
        return AuditReport(
            tool: .init(version: "0.1.0"),
            image: .init(
                name: "example", version: "1.0.0", build: 1,
                artifacts: [.init(role: "disk.qcow2", path: "disk.qcow2", sha256: digest, sizeBytes: 65, sha256AfterTest: digest)]),
            host: .init(
                hostname: "ci-host", qemuVersion: "7.2.11", accelerator: "tcg", qemuCommandLine: nil, guestChannel: "agent",
                staticFacts: "image"),
            inputs: [], timings: StageTimings(), results: results, threshold: .info,
            startedAt: Date(timeIntervalSince1970: 1_700_000_000), finishedAt: Date(timeIntervalSince1970: 1_700_000_060), factsSHA256: nil)
    }

    @Test("Tests/Fixtures/example-evidence is what the writers produce (HALLMARK_UPDATE_FIXTURES=1 rewrites it)")
    func exampleEvidenceIsCurrent() throws {
        let audit = try Self.audit()
        let files = [
            "report.json": String(decoding: try JSONEncoder.hallmark.encode(audit), as: UTF8.self),
            "junit.xml": try JUnitWriter.xml(for: JUnitExport.report(audit, hostname: audit.host.hostname)),
        ]
        for (name, expected) in files.sorted(by: { $0.key < $1.key }) {
            let path = Self.directory + "/" + name
            if Self.updating { try expected.write(toFile: path, atomically: true, encoding: .utf8) }
            #expect(
                (try? String(contentsOfFile: path, encoding: .utf8)) == expected,
                "\(path) is not what Hallmark writes; rerun with HALLMARK_UPDATE_FIXTURES=1 and commit it")
        }
        try Schemas.validateJUnit(Self.directory + "/junit.xml")
    }
}
