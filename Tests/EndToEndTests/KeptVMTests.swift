import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// A pipeline whose test closes the gate, run with `--keep-vm-on-failure`: nothing reaches its
/// target, the catalog records the build as FAILED, and the VM stays for `hallmark shell` and
/// `hallmark stop`.
extension EndToEndTests.KeptVM {
    @Test func aClosedGateShipsNothingAndKeepsTheVMForInspection() async throws {
        let reports = Hallmark.scratchReports()
        let recipe = Repository.root + "/Tests/Fixtures/root-login.yaml"
        try await Hallmark.ensureBuilt(recipe, image: "e2e-root-login", reports: reports)
        let keys = try await Hallmark.run(["key", "generate", "--out", reports + "/keys"], reports: reports, passReports: false)
        try #require(keys.status == .exited(0), "\(keys.output)")
        let pipeline = reports + "/pipeline.yaml"
        try """
        name: e2e-closed-gate
        recipe: \(recipe)
        signing: {key: keys/hallmark.key}
        distribute:
          - directory: target

        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let run = try await Hallmark.run(["pipeline", "run", pipeline, "--keep-vm-on-failure"], reports: reports)
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("FAIL [high] sshd-permit-root-login"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: reports + "/target"), "a closed gate let something reach the target")
        let buildLine = try #require(run.output.range(of: #"e2e-root-login 1\.0\.0/[0-9]+"#, options: .regularExpression))
        let reference = "e2e-root-login@1.0.0/" + run.output[buildLine].split(separator: "/").last!
        let show = try await Hallmark.run(
            ["images", "show", reference, "--json"], reports: reports, passReports: false, separateErrors: true)
        let history = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any], "\(show.output)")
        let states = (history["states"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(states == ["BUILDING", "TESTING", "FAILED"], "\(states)")
        #expect((history["distributions"] as? [Any] ?? []).isEmpty)

        let idRange = try #require(run.output.range(of: #"hallmark shell ([A-Za-z0-9]+) -- "#, options: .regularExpression))
        let id = String(run.output[idRange].split(separator: " ")[2])
        #expect(!Hallmark.leftoverQEMU(named: "hallmark-e2e-root-login").isEmpty, "the VM should still be running")

        let listing = try await Hallmark.run(["shell"], reports: reports, passReports: false)
        #expect(listing.output.contains(id))
        let shell = try await Hallmark.run(
            ["shell", id, "--", "cat", "/etc/ssh/sshd_config.d/05-permit-root.conf"], reports: reports, passReports: false)
        #expect(shell.status == .exited(0), "\(shell.output)")
        #expect(shell.output.contains("PermitRootLogin yes"))
        let failing = try await Hallmark.run(["shell", id, "--", "exit", "7"], reports: reports, passReports: false)
        #expect(failing.status == .exited(7))

        let stop = try await Hallmark.run(["stop", id], reports: reports, passReports: false)
        #expect(stop.status == .exited(0), "\(stop.output)")
        #expect(Hallmark.leftoverQEMU(named: "hallmark-e2e-root-login").isEmpty)
        #expect(!Hallmark.runDirectories().contains(id))
    }
}
