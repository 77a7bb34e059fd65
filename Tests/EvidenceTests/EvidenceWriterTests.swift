import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import JUnitXML
import Testing

@testable import Evidence

/// The evidence writers on a hand-built run: one control of every result across two policies, so
/// each format's ordering, escaping and mapping is checked without building or booting anything.
@Suite struct EvidenceWriterTests {
    static let digest = String(repeating: "ab", count: 32)
    static let timings: StageTimings = {
        var timings = StageTimings()
        (timings.boot, timings.checks) = (12.5, 3.25)
        return timings
    }()

    static func result(
        _ id: String, _ status: ResultStatus, severity: Severity = .medium, policy: String = "baseline",
        message: String? = nil, evidence: String = "", waiver: String? = nil, original: ResultStatus? = nil,
        observedIn: [FactSource] = [.guest]
    ) -> ControlResult {
        let control = Control(
            id: id, title: "\(id) title", severity: severity, rationale: "why \(id)", remediation: "fix \(id)",
            references: ["cis": ["1.2.3"]], check: .reboot,
            location: SourceLocation(file: "policies/\(policy).yaml", line: 7, column: 5), tags: ["t"])
        var result = ControlResult(
            control: control, policyID: policy, status: status, message: message ?? "\(id) is \(status.rawValue)",
            evidence: evidence, waiver: waiver, originalStatus: original)
        result.observedIn = status == .notapplicable ? [] : observedIn
        return result
    }

    /// Listed passing first, so that any "failures first" order is the writer's doing.
    static let results = [
        result("all-good", .pass, observedIn: [.image]),
        result("just-info", .informational),
        result("skip-me", .notapplicable),
        result("cannot-tell", .notchecked),
        result("accepted", .waived, severity: .high, waiver: "run until 2030-01-01: vendor fix pending", original: .fail),
        result("low-fail", .fail, severity: .low, policy: "extra"),
        result("broken-probe", .error, severity: .medium),
        result("root-login", .fail, severity: .high, evidence: "permitrootlogin yes"),
    ]

    static func audit(threshold: Severity = .medium) -> AuditReport {
        AuditReport(
            tool: .init(version: "0.0-test"),
            image: .init(
                name: "img", version: "1.2.3", build: 4,
                artifacts: [
                    .init(role: "disk.qcow2", path: "/images/img/disk.qcow2", sha256: digest, sizeBytes: 1024, sha256AfterTest: digest)
                ]),
            host: .init(
                hostname: "ci-host", qemuVersion: "8.2.2", accelerator: "tcg", qemuCommandLine: "qemu-system-x86_64 -m 1024",
                guestChannel: "agent", staticFacts: "image"),
            inputs: [.init(kind: "recipe", path: "recipes/img.yaml", sha256: digest)],
            timings: Self.timings,
            results: results, threshold: threshold,
            startedAt: Date(timeIntervalSince1970: 1_700_000_000), finishedAt: Date(timeIntervalSince1970: 1_700_000_060),
            factsSHA256: digest)
    }

    @Test func reportJSONReadsBackAsWritten() throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-evidence")
        defer { directory.remove() }
        try Self.audit().write(to: directory.path + "/report.json")
        let report = try ReportJSON.read(directory.path + "/report.json")

        #expect(report.schemaVersion == AuditReport.currentSchemaVersion)
        #expect(report.tool.name == "hallmark")
        #expect((report.image.name, report.image.version, report.image.build) == ("img", "1.2.3", 4))
        #expect(report.image.artifacts.first?.sha256AfterTest == Self.digest)
        #expect(report.host.staticFacts == "image" && report.host.guestChannel == "agent")
        #expect(report.gate.verdict == "fail")
        #expect(report.gate.threshold == "medium")
        // The low failure is below the threshold; the error does not name itself a failure.
        #expect(report.gate.summary == "gate closed: 1 control(s) failed: root-login", "\(report.gate.summary)")
        #expect(report.controls.map(\.id) == Self.results.map(\.control.id), "report.json keeps the evaluation order")
        #expect(report.counts == ["pass": 1, "fail": 2, "error": 1, "notapplicable": 1, "notchecked": 1, "informational": 1, "waived": 1])
        let waived = try #require(report.control("accepted"))
        #expect(waived.result == "waived" && waived.originalResult == "fail")
        #expect(waived.waiver == "run until 2030-01-01: vendor fix pending")
        #expect(report.control("all-good")?.observedIn == ["image"])
        #expect(report.control("skip-me")?.observedIn == nil, "nothing observed: the field is left out")
        #expect(report.control("root-login")?.line == 7)
        #expect(report.startedAt == "2023-11-14T22:13:20Z")
        #expect(report.factsSHA256 == Self.digest)
        // Typed timings keep report.json's shape: an object of the stages that were measured.
        #expect(report.timings == ["boot": 12.5, "checks": 3.25])
    }

    @Test(.enabled(if: Self.hasJSONSchema, "needs python3 with jsonschema"))
    func reportJSONIsValidAgainstItsSchema() async throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-evidence")
        defer { directory.remove() }
        for threshold in [Severity.info, .critical] {
            try Self.audit(threshold: threshold).write(to: directory.path + "/report.json")
            try await Schemas.validateReport(directory.path + "/report.json")
        }
    }

    static var hasJSONSchema: Bool {
        (try? Process.run(URL(fileURLWithPath: "/usr/bin/env"), arguments: ["python3", "-c", "import jsonschema"]))
            .map {
                $0.waitUntilExit(); return $0.terminationStatus == 0
            } ?? false
    }

    @Test func summaryListsOnlyFailuresAndErrorsAfterTheCounts() throws {
        let summary = MarkdownSummary.render(Self.audit())
        #expect(summary.hasPrefix("# img 1\\.2\\.3/4\n"), "\(summary)")
        #expect(summary.contains("❌ **Gate closed**"))
        let lines = summary.split(separator: "\n")
        let heading = try #require(lines.firstIndex(of: "## Failing controls"))
        let rows = lines[heading...].filter { $0.hasPrefix("| `") }
        // Evaluation order among the failing; nothing passed, waived or skipped is listed.
        #expect(rows.map { $0.split(separator: "`")[1] } == ["low-fail", "broken-probe", "root-login"], "\(rows)")
        #expect(rows.last?.contains("| high | fail |") == true)
        #expect(lines[..<heading].contains("| waived | 1 |"))
        #expect(!summary.contains("accepted"))
    }

    @Test func summaryOfAnOpenGateHasNoFailureSection() {
        let audit = AuditReport(
            tool: .init(version: "t"), image: .init(name: "img", version: "1.0.0", build: 1, artifacts: []),
            host: .init(hostname: "h", qemuVersion: nil, accelerator: nil), inputs: [], timings: StageTimings(),
            results: [Self.result("all-good", .pass)], threshold: .info,
            startedAt: Date(timeIntervalSince1970: 0), finishedAt: Date(timeIntervalSince1970: 1), factsSHA256: nil)
        let summary = MarkdownSummary.render(audit)
        #expect(summary.contains("✅ **Gate open**"))
        #expect(!summary.contains("Failing controls"))
    }

    @Test func htmlListsFailuresFirstThenBySeverity() throws {
        let html = HTMLReport.render(Self.audit())
        let rows = html.matches(of: /<tr class="control" data-result="([a-z]+)" data-severity="([a-z]+)">/).map { "\($0.1)/\($0.2)" }
        #expect(
            rows == [
                "fail/high", "fail/low", "error/medium", "notchecked/medium", "waived/high", "informational/medium",
                "notapplicable/medium", "pass/medium",
            ], "\(rows)")
        #expect(html.contains("Gate closed: img 1.2.3/4"))
        #expect(html.contains("observed in image"))
        #expect(!html.contains("http://") && !html.contains("https://"), "report.html must not fetch anything")
    }

    @Test func htmlEscapesTitlesReferencesAndImageNames() {
        var audit = Self.audit()
        audit.image.name = "<b>img</b>"
        audit.controls[0].title = "a & b <i>"
        audit.controls[0].references = ["<ref>": ["\"quoted\""]]
        audit.controls[0].remediation = "run '<cmd>'"
        let html = HTMLReport.render(audit)
        #expect(!html.contains("<b>img") && !html.contains("<i>") && !html.contains("<ref>") && !html.contains("<cmd>"))
        #expect(html.contains("&lt;b&gt;img&lt;/b&gt;"))
        #expect(html.contains("a &amp; b &lt;i&gt;"))
        #expect(html.contains("&lt;REF&gt; &quot;quoted&quot;"))
        #expect(html.contains("run &#39;&lt;cmd&gt;&#39;"))
    }

    @Test func junitMapsEveryResult() throws {
        let junit = JUnitExport.report(Self.audit(), hostname: "ci-host")
        #expect(junit.suites.map(\.name) == ["baseline", "extra"], "one suite per policy, in order of first appearance")
        let cases = Dictionary(uniqueKeysWithValues: junit.suites.flatMap(\.cases).map { ($0.name, $0) })
        let outcome = { (id: String) in cases["\(id): \(id) title"]?.outcome }
        #expect(outcome("all-good") == .passed)
        #expect(outcome("just-info") == .passed)
        #expect(outcome("skip-me") == .skipped(message: "not applicable: skip-me is notapplicable"))
        #expect(outcome("cannot-tell") == .skipped(message: "not checked: cannot-tell is notchecked"))
        #expect(outcome("accepted") == .skipped(message: "waived: run until 2030-01-01: vendor fix pending"))
        #expect(
            outcome("low-fail")
                == .failure(message: "low-fail is fail", type: "low", details: "low-fail is fail\nRemediation: fix low-fail"))
        #expect(
            outcome("broken-probe")
                == .error(
                    message: "broken-probe is error", type: "error",
                    details: "broken-probe is error\nRemediation: fix broken-probe"))
        #expect(
            outcome("root-login")
                == .failure(
                    message: "root-login is fail", type: "high",
                    details: "root-login is fail\nEvidence: permitrootlogin yes\nRemediation: fix root-login"))

        let baseline = try #require(junit.suites.first)
        #expect((baseline.tests, baseline.failures, baseline.errors, baseline.skipped) == (7, 1, 1, 3))
        #expect(baseline.time == 3.25, "a suite takes the checks phase's time")
        #expect(baseline.properties.contains(JUnitProperty(name: "verdict", value: "fail")))
        let rootLogin = try #require(cases["root-login: root-login title"])
        #expect(rootLogin.classname == "hallmark.baseline")
        #expect(rootLogin.properties == [JUnitProperty(name: "severity", value: "high"), JUnitProperty(name: "cis", value: "1.2.3")])
        #expect((rootLogin.file, rootLogin.line) == ("policies/baseline.yaml", 7))
        #expect(rootLogin.systemOut == "permitrootlogin yes")
        #expect(
            cases["accepted: accepted title"]?.properties.last
                == JUnitProperty(name: "waiver", value: "run until 2030-01-01: vendor fix pending"))
        #expect(cases["all-good: all-good title"]?.systemOut == nil)
    }

    /// The JUnit file a CI reader gets: written, parsed back by libxml2 and valid against the
    /// project's schemas/junit.xsd (both flavours) and the public schemas when they are at hand
    /// (HALLMARK_JUNIT_SCHEMAS).
    @Test func junitFileCountsMatchTheReport() throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-evidence")
        defer { directory.remove() }
        let path = directory.path + "/junit.xml"
        try JUnitWriter.write(JUnitExport.report(Self.audit(), hostname: "ci-host"), to: path)
        try Schemas.validateJUnit(path)
        try JUnitWriter.write(JUnitExport.report(Self.audit(), hostname: "ci-host"), to: path + ".rich", flavour: JUnitWriter.Flavour.rich)
        try XMLSchemaValidator.validate(xmlFile: path + ".rich", schemaFile: Schemas.ownJUnit)
        let xml = try String(contentsOfFile: path, encoding: .utf8)
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == Self.results.count)
        #expect(xml.components(separatedBy: "<failure ").count - 1 == 2)
        #expect(xml.components(separatedBy: "<error ").count - 1 == 1)
        #expect(xml.components(separatedBy: "<skipped").count - 1 == 3)
    }
}
