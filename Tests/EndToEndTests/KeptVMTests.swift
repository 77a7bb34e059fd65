import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// `--keep-vm-on-failure`, `hallmark shell` and `hallmark stop` on a VM kept after a failed test.
extension EndToEndTests.KeptVM {
    /// A failed test can leave its VM running for debugging; `hallmark shell` reaches it through
    /// the guest channel its test used (here the agent) and `hallmark stop` ends it.
    @Test func keptVMCanBeInspectedAndStopped() async throws {
        let reports = Hallmark.scratchReports()
        let recipe = Repository.root + "/Tests/Fixtures/root-login.yaml"
        try await Hallmark.ensureBuilt(recipe, image: "e2e-root-login", reports: reports)
        let run = try await Hallmark.run(["test", recipe, "--keep-vm-on-failure"], reports: reports)
        #expect(run.status == .exited(1), "\(run.output)")
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
