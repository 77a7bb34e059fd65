import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// `hallmark policy test` through the real binary, against a facts.json: no image, no VM.
@Suite(.tags(.binary)) struct PolicyCommandTests {
    @Test func factsFileIsEvaluatedLikeTheGate() async throws {
        let reports = Hallmark.scratchReports()
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let policy = reports + "/p.yaml"
        try """
        id: p
        title: P
        controls:
          - id: root-login
            title: SSH root login is disabled
            severity: high
            check: {sshd: {setting: PermitRootLogin, value: "no"}}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        let facts = reports + "/facts.json"
        try #"{"probes": {"sshd": {"exitCode": 0, "stdout": "permitrootlogin yes\n", "stderr": ""}}}"#
            .write(toFile: facts, atomically: true, encoding: .utf8)
        let run = try await Hallmark.run(["policy", "test", policy, "--facts", facts], reports: reports, passReports: false)
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("root-login"))
    }
}
