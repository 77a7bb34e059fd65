import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// The shipped policies on real images: exactly the planted violations are flagged, and the CIS recipe passes.
extension EndToEndTests.PolicyOutcomes {
    /// An image broken on purpose is flagged on exactly the controls it violates, and on no other.
    @Test func deliberateViolationsAreFlaggedExactly() async throws {
        let run = try await Hallmark.run(["run", Repository.root + "/Tests/Fixtures/violations.yaml"], reports: Hallmark.scratchReports())
        #expect(run.status == .exited(1), "\(run.output)")
        let report = try run.report(image: "e2e-violations")
        #expect(report.host.guestChannel == "console")
        #expect(report.host.staticFacts == "image")
        let controls = report.controls
        let flagged = Set(controls.filter { $0.result != "pass" }.map(\.id))
        let expected = Set(
            try String(contentsOfFile: Repository.root + "/Tests/Fixtures/violations-expected.txt", encoding: .utf8)
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
        #expect(expected.count >= 15)
        #expect(
            flagged == expected, "unexpected: \(flagged.subtracting(expected).sorted()), missed: \(expected.subtracting(flagged).sorted())")
        #expect(controls.filter { $0.result == "fail" }.count == expected.count)
    }

    /// The CIS recipe's components remediate every applicable Level 1 control.
    @Test func cisRecipePassesItsGate() async throws {
        let run = try await Hallmark.run(["run", Repository.root + "/recipes/debian-12-cis.yaml"], reports: Hallmark.scratchReports())
        #expect(run.status == .exited(0), "\(run.output)")
        let report = try run.report(image: "debian-12-cis")
        let controls = report.controls
        #expect(controls.filter { $0.policy == "cis-debian12-level1" }.count >= 60)
        let failing = controls.filter { ["fail", "error", "notchecked"].contains($0.result) }
        #expect(failing.isEmpty, "\(failing.map { "\($0.id): \($0.message)" })")
    }
}
