import Foundation
import HallmarkSupport
import Testing

/// `hallmark policy test` without a VM, through the real binary: against a facts.json and against
/// an unpacked Debian root filesystem in a chroot.
@Suite struct PolicyCommandTests {
    @Test func factsFileIsEvaluatedLikeTheGate() async throws {
        let reports = EndToEndTests.scratchReports()
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
        let run = try await EndToEndTests.hallmark(["policy", "test", policy, "--facts", facts], reports: reports, passReports: false)
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("root-login"))
    }

    @Test func unpackedRootfsGetsStaticChecksOnly() async throws {
        _ = try await VirtualMachineTests.image()  // builds the minimal image, and so its parent, if not yet there
        let parents = EndToEndTests.home + "/cache/parents"
        let tarball = try #require(try FileManager.default.contentsOfDirectory(atPath: parents).first { $0.hasSuffix(".tar") })
        let rootfs = EndToEndTests.scratchReports() + "/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: rootfs) }
        try await HostCommand("tar", ["--numeric-owner", "-xpf", parents + "/" + tarball, "-C", rootfs]).run()

        let run = try await EndToEndTests.hallmark(
            ["policy", "test", EndToEndTests.root + "/policies/debian-baseline.yaml", "--rootfs", rootfs],
            reports: EndToEndTests.scratchReports(), passReports: false)
        // The parent is not hardened: sshd's default allows root logins with keys, so the gate closes.
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("sshd-permit-root-login"))
        // Runtime-only checks cannot be answered from files.
        for runtime in ["boot-health", "reboots-cleanly", "ip-forwarding-disabled"] {
            let line = run.output.split(separator: "\n").first { $0.contains(runtime) } ?? ""
            #expect(line.uppercased().contains("NOTCHECKED"), "\(runtime): \(line)")
        }
        // Static checks are answered from the image's files.
        let shadow = run.output.split(separator: "\n").first { $0.contains("shadow-permissions") } ?? ""
        #expect(shadow.uppercased().contains("PASS"), "\(shadow)")
    }
}
