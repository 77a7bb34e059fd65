import Foundation
import HallmarkModel
import HallmarkSupport
import Testing

@testable import Compliance

@Suite struct TimezoneTests {
    static let utc = Check(TimezoneCheck(value: .oneOf(["Etc/UTC", "UTC"])))

    @Test(arguments: [
        ("localtime=/usr/share/zoneinfo/Etc/UTC\ntimezone=Etc/UTC\n", 0, ResultStatus.pass, "the time zone is Etc/UTC"),
        ("localtime=../usr/share/zoneinfo/Etc/UTC\n", 0, .pass, "the time zone is Etc/UTC"),
        ("localtime=absent\n", 0, .pass, "the time zone is UTC"),
        ("localtime=file\ntimezone=UTC\n", 0, .pass, "the time zone is UTC"),
        ("localtime=/usr/share/zoneinfo/Europe/Berlin\ntimezone=Europe/Berlin\n", 0, .fail, "the time zone is Europe/Berlin; expected"),
        ("localtime=/usr/share/zoneinfo/Etc/UTC\ntimezone=Europe/Berlin\n", 0, .fail, "but /etc/timezone says Europe/Berlin"),
        // A copy whose zone nothing names, a link outside zoneinfo, output the probe never prints,
        // a probe that failed: none of them proves a zone.
        ("localtime=file\n", 0, .error, "cannot tell the time zone"),
        ("localtime=/etc/other\n", 0, .error, "not into a zoneinfo directory"),
        ("localtime=/usr/share/zoneinfo/Etc/UTC\nlocaltime=/usr/share/zoneinfo/Europe/Berlin\n", 0, .error, "unexpected"),
        ("timezone=Etc/UTC\n", 0, .error, "did not report /etc/localtime"),
        ("", 1, .error, "cannot read the time zone"),
    ])
    func theZoneIsTheLinkTargetOrTheNamedOne(stdout: String, exitCode: Int32, expected: ResultStatus, fragment: String) {
        let observed = Facts(probes: ["timezone": ProbeOutput(exitCode: exitCode, stdout: stdout, stderr: "")])
        let result = Evaluator.evaluate(policy([control("tz", Self.utc)]), facts: observed)[0]
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test func notCollectedIsNotChecked() {
        #expect(Evaluator.evaluate(policy([control("tz", Self.utc)]), facts: Facts())[0].status == .notchecked)
    }

    /// Static: read from the disk artifact or a root filesystem as well as in the guest.
    @Test func theProbeReadsFilesOnly() {
        let controls = [control("tz", Self.utc)]
        #expect(Collector.probes(for: controls, source: .rootfs).map(\.key) == ["timezone"])
    }

    @Test func policiesWriteAValueMatcher() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-tz-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let path = scratch + "/p.yaml"
        try """
        id: p
        title: P
        controls:
          - {id: tz, title: UTC, severity: low, check: {timezone: {value: {one_of: [Etc/UTC, UTC]}}}}
        tests:
          - name: berlin
            facts: {timezone: "localtime=/usr/share/zoneinfo/Europe/Berlin\\n"}
            expect: {tz: fail}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let policy = try Policy.load(path: path)
        #expect(policy.controls[0].check.as(TimezoneCheck.self)?.value == .oneOf(["Etc/UTC", "UTC"]))
        let outcomes = PolicyTestRunner.run(policy)
        #expect(outcomes.count == 1 && outcomes[0].passed, "\(outcomes.map(\.mismatches))")

        try "id: p\ntitle: P\ncontrols:\n  - {id: tz, title: UTC, severity: low, check: {timezone: {zone: UTC}}}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(error.description.contains("p.yaml:4:"), "\(error)")
    }

    @Test func theProbeRunsOnThisHost() async throws {
        let plan = CollectorPlan(probes: Collector.probes(for: [control("tz", Self.utc)]))
        let observed = Facts(probes: try plan.parse(try await HostCommand("/bin/sh", ["-c", plan.script]).output()))
        #expect(observed.probes["timezone"]?.exitCode == 0)
        let anyZone = Check(TimezoneCheck(value: .matches(".")))
        let result = Evaluator.evaluate(policy([control("tz", anyZone)]), facts: observed)[0]
        #expect(result.status == .pass, "\(result.message) \(result.evidence)")
    }
}
