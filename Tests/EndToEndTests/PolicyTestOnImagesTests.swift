import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// `hallmark policy test --rootfs` without a VM, through the real binary: against an unpacked Debian
/// root filesystem and a built image's disk.
extension EndToEndTests.PolicyTestOnImages {
    @Test func unpackedRootfsGetsStaticChecksOnly() async throws {
        _ = try await SharedImages.minimal()  // builds the minimal image, and so its parent, if not yet there
        let parents = Hallmark.home + "/cache/parents"
        let tarball = try #require(try FileManager.default.contentsOfDirectory(atPath: parents).first { $0.hasSuffix(".tar") })
        let rootfs = Hallmark.scratchReports() + "/rootfs"
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: rootfs) }
        try await HostCommand("tar", ["--numeric-owner", "-xpf", parents + "/" + tarball, "-C", rootfs]).run()
        let listing = { (directory: String) in try FileManager.default.contentsOfDirectory(atPath: rootfs + directory).sorted() }
        let (devBefore, tmpBefore, runBefore) = (try listing("/dev"), try listing("/tmp"), try listing("/run"))

        let run = try await Hallmark.run(
            ["policy", "test", Repository.root + "/policies/debian-baseline.yaml", "--rootfs", rootfs],
            reports: Hallmark.scratchReports(), passReports: false)
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
        // The collector's scratch files and /dev/null lived on tmpfs over a read-only view of the tree.
        #expect(try listing("/dev") == devBefore)
        #expect(try listing("/tmp") == tmpBefore)
        #expect(try listing("/run") == runBefore)
        #expect(Hallmark.loopDevices().isEmpty, "\(Hallmark.loopDevices())")

        // The fence around the collector: the tree's own /tmp is seen, what a probe leaves running
        // ends with the collector (even outside its process group), and a probe cannot make devices.
        _ = FileManager.default.createFile(atPath: rootfs + "/tmp/left-by-the-build", contents: Data())
        let policy = Hallmark.scratchReports() + "/fence.yaml"
        try FileManager.default.createDirectory(atPath: (policy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try """
        id: fence
        title: What a probe can and cannot do
        controls:
          - id: sees-the-image-tmp
            title: the image's /tmp is visible
            severity: low
            check: {file: {path: /tmp/left-by-the-build}}
          - id: starts-a-daemon
            title: starts a daemon
            severity: low
            check: {command: {run: "setsid sleep 3171 >/dev/null 2>&1 </dev/null & echo started", stdout: started}}
          - id: cannot-make-devices
            title: mknod is refused
            severity: low
            check: {command: {run: "mknod \\"$TMPDIR/sda\\" b 8 0 2>/dev/null && echo made || echo refused", stdout: refused}}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        let fence = try await Hallmark.run(
            ["policy", "test", policy, "--rootfs", rootfs],
            reports: Hallmark.scratchReports(), passReports: false)
        #expect(fence.status == .exited(0), "\(fence.output)")
        let sleepers = try await HostCommand("/bin/sh", ["-c", "pgrep -f 'sleep 317[1]' || true"]).output()
        #expect(sleepers.isEmpty, "left running: \(sleepers)")

        // A /run that is a symbolic link would take the collector's tmpfs outside the tree: refused, named.
        try FileManager.default.removeItem(atPath: rootfs + "/run")
        try FileManager.default.createSymbolicLink(atPath: rootfs + "/run", withDestinationPath: "/tmp")
        let refused = try await Hallmark.run(
            ["policy", "test", Repository.root + "/policies/debian-baseline.yaml", "--rootfs", rootfs],
            reports: Hallmark.scratchReports(), passReports: false)
        #expect(refused.status == .exited(3), "\(refused.output)")
        #expect(refused.output.contains("the image's /run is not a directory"), "\(refused.output)")
    }

    /// A built image's disk (qcow2) is read in place: mounted read-only in a namespace that dies with
    /// the collector, so its bytes, the host's mounts and loop devices are as they were.
    @Test func diskImageGetsStaticChecksWithoutBooting() async throws {
        let image = try await SharedImages.minimal()
        let disk = image.bootDisk.path
        let digest = try await Digest.sha256(fileAt: disk)
        let mountsBefore = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)

        let run = try await Hallmark.run(
            [
                "policy", "test", Repository.root + "/policies/debian-baseline.yaml", Repository.root + "/policies/image-health.yaml",
                "--rootfs", disk,
            ], reports: Hallmark.scratchReports(), passReports: false)
        // The minimal fixture is hardened for the baseline and its build leaves no host keys, so every
        // static control passes; the runtime-only ones leave the verdict incomplete (exit 2).
        #expect(run.status == .exited(2), "\(run.output)")
        let line = { (id: String) in run.output.split(separator: "\n").first { $0.contains("/\(id):") }.map(String.init) ?? "" }
        for staticCheck in ["shadow-permissions", "sshd-permit-root-login", "dpkg-verify-clean", "machine-id-empty"] {
            #expect(line(staticCheck).hasPrefix("PASS"), "\(line(staticCheck))")
        }
        #expect(line("no-ssh-host-keys-in-rootfs").hasPrefix("PASS"), "\(line("no-ssh-host-keys-in-rootfs"))")
        for runtime in ["boot-health", "ip-forwarding-disabled", "running-newest-kernel"] {
            #expect(line(runtime).hasPrefix("NOTCHECKED"), "\(line(runtime))")
        }
        #expect(try await Digest.sha256(fileAt: disk) == digest)
        #expect(try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) == mountsBefore)
        #expect(Hallmark.loopDevices().isEmpty, "\(Hallmark.loopDevices())")

        let notADisk = try await Hallmark.run(
            ["policy", "test", Repository.root + "/policies/debian-baseline.yaml", "--rootfs", Repository.root + "/README.md"],
            reports: Hallmark.scratchReports(), passReports: false)
        #expect(notADisk.status == .exited(64), "\(notADisk.output)")
        #expect(notADisk.output.contains("README.md is not an ext4 filesystem image"), "\(notADisk.output)")
        #expect(Hallmark.loopDevices().isEmpty, "\(Hallmark.loopDevices())")
    }
}
