import Attestation
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import JUnitXML

/// The files a test publishes into its report directory, written aside and published in one
/// rename: an interrupt leaves the previous complete set or the new complete set, never a mix,
/// and never a report or an all-green junit.xml without the rest (the envelope above all).
struct EvidenceSet {
    /// What a test writes into its report directory (build.log and console.log aside).
    static let files = [
        "report.json", "junit.xml", "summary.md", "report.html", "facts.json", "collector.sh", "image-collector.sh",
        "report.dsse.json",
    ]

    /// The files every published set holds; the collector of the artifact and the envelope are optional.
    static let requiredFiles = Set(files).subtracting(["image-collector.sh", "report.dsse.json"])

    /// Removes evidence files that are not a published set (left by a crashed older version, or put
    /// there by hand), so an interrupted test leaves the earlier complete set or nothing: no stray
    /// junit.xml can be taken for this test's result.
    static func removeIncompleteSet(in directory: String) {
        let present = Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).intersection(files)
        guard !present.isEmpty, !requiredFiles.isSubset(of: present) else { return }
        for name in present { try? FileManager.default.removeItem(atPath: directory + "/" + name) }
    }

    var report: AuditReport
    var facts: Data
    /// Exactly what ran in the guest and against the artifact to observe the facts, for whoever reviews the evidence.
    var collectorScript: String
    var imageCollectorScript: String?
    var junit: JUnitFlavour

    /// Writes the set beside `directory`, signs it when `key` gives a key, and publishes it.
    /// `key` is called only once everything else is written: the key is read only to sign.
    func publish(into directory: String, signingKey key: () throws -> SigningKey?, console: Console) throws {
        let staging = try StagedDirectory(replacing: directory)
        defer { staging.discard() }
        try write(to: staging.path)
        try sign(in: staging.path, with: try key(), console: console)
        try staging.publish(fileSet: Set(Self.files))
    }

    /// Writes the reports into `directory`, a staging directory.
    func write(to directory: String) throws {
        try facts.write(to: URL(fileURLWithPath: directory + "/facts.json"))
        try collectorScript.write(toFile: directory + "/collector.sh", atomically: false, encoding: .utf8)
        if let imageCollectorScript {
            try imageCollectorScript.write(toFile: directory + "/image-collector.sh", atomically: false, encoding: .utf8)
        }
        try report.write(to: directory + "/report.json")
        let junitReport = JUnitExport.report(report, hostname: report.host.hostname)
        try JUnitWriter.write(junitReport, to: directory + "/junit.xml", flavour: junit)
        try MarkdownSummary.render(report).write(toFile: directory + "/summary.md", atomically: true, encoding: .utf8)
        try HTMLReport.render(report).write(toFile: directory + "/report.html", atomically: true, encoding: .utf8)
    }

    /// Writes report.dsse.json: an in-toto statement whose subjects are the image's artifacts and
    /// whose predicate is exactly the report.json just written. Without a key, says so; the set
    /// is then published without an envelope, so none from an earlier test survives it.
    func sign(in directory: String, with key: SigningKey?, console: Console) throws {
        guard let key else {
            console.warning(
                "reports are unsigned: pass --signing-key, set evidence.signing_key in the recipe or HALLMARK_SIGNING_KEY to sign them")
            return
        }
        let reportJSON = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))
        let subjects = report.image.artifacts.map {
            Subject(name: "\(report.image.name)-\(report.image.version)-\(report.image.build)/\($0.role)", sha256: $0.sha256)
        }
        let envelope = try Attestation.signReport(reportJSON: reportJSON, subjects: subjects, key: key)
        try envelope.write(to: URL(fileURLWithPath: directory + "/report.dsse.json"), options: .atomic)
        console.info("signed report.dsse.json with key \(key.publicKey.keyID.prefix(16))…")
    }
}
