import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// The gate: closed on exactly the failing control, across parallel jobs, in every report format;
/// a recipe that does not load stops the run before anything is built.
extension EndToEndTests.Gate {
    /// Two recipes at once (`--jobs 2`), each in its own VM: the one that allows root logins fails on
    /// exactly that control, the other passes, and their reports stay apart.
    @Test func rootLoginClosesTheGateOnExactlyThatControl() async throws {
        let reports = Hallmark.scratchReports()
        let run = try await Hallmark.run(
            [
                "run", "--jobs", "2", Repository.root + "/Tests/Fixtures/root-login.yaml",
                Repository.root + "/Tests/Fixtures/minimal-one-boot.yaml",
            ],
            reports: reports)
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("hallmark[e2e-root-login]: boot"))
        #expect(run.output.contains("hallmark[e2e-minimal]: boot"))
        let other = try run.report(image: "e2e-minimal")
        #expect(other.gate.verdict == "pass")
        // Without a key the reports are written, and Hallmark says they are unsigned.
        #expect(run.output.contains("reports are unsigned"))

        let report = try run.report(image: "e2e-root-login")
        #expect(report.gate.verdict == "fail")
        let controls = report.controls
        let failing = controls.filter { $0.result != "pass" && $0.result != "waived" }.map(\.id)
        #expect(failing == ["sshd-permit-root-login"])
        // One boot: the reboot control is waived (skip), so it is neither run nor counted as passed.
        #expect(controls.filter { $0.result == "waived" }.map(\.id) == ["reboots-cleanly"])
        // This fixture asks for every fact in the guest (tests.static_facts: guest).
        #expect(report.host.staticFacts == "guest")
        #expect(report.host.staticFactsNote == "the recipe asks for every fact in the guest (tests.static_facts: guest)")
        let evaluated = controls.filter { $0.result != "waived" }
        #expect(evaluated.allSatisfy { $0.observedIn == ["guest"] }, "\(evaluated.map { $0.observedIn ?? ["-"] })")

        let directory = try run.reportDirectory(image: "e2e-root-login")
        #expect(!FileManager.default.fileExists(atPath: directory + "/report.dsse.json"))
        try Schemas.validateJUnit(directory + "/junit.xml")
        let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        let failures = junit.components(separatedBy: "<failure ").count - 1
        #expect(failures == 1)
        // A JUnit reader that CI tools use agrees on the counts.
        let reader = """
            import sys, junitparser
            xml = junitparser.JUnitXml.fromfile(sys.argv[1])
            print(sum(s.tests for s in xml), sum(s.failures for s in xml), sum(s.errors for s in xml), sum(s.skipped for s in xml))
            """
        let counts = try await HostCommand("python3", ["-c", reader, directory + "/junit.xml"]).output()
        #expect(counts.trimmingCharacters(in: .whitespacesAndNewlines) == "\(controls.count) 1 0 1")
        #expect(junit.contains("name=\"sshd-permit-root-login: SSH root login is disabled\""))
        #expect(junit.range(of: #"<testsuite [^>]*failures="1""#, options: .regularExpression) != nil)
        // The HTML report shows the verdict and lists the failing control first.
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("Gate closed"))
        let firstRow = try #require(html.range(of: #"data-result="[a-z]+""#, options: .regularExpression))
        #expect(html[firstRow] == #"data-result="fail""#)
        #expect(Hallmark.leftoverQEMU(named: "hallmark-e2e-root-login").isEmpty)
    }

    @Test func invalidRecipeStopsBeforeAnythingRunsWithItsPosition() async throws {
        let reports = Hallmark.scratchReports()
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let recipe = reports + "/bad.yaml"
        try "name: bad\nversion: 1.0.0\nparent:\n  debian:\n    suite: bookworm\n    pakages: [vim]\n".write(
            toFile: recipe, atomically: true, encoding: .utf8)
        let run = try await Hallmark.run(["run", recipe], reports: reports)
        #expect(run.status == .exited(65))
        #expect(run.output.contains("\(recipe):6:5: unknown key 'pakages'"), "\(run.output)")
    }
}
