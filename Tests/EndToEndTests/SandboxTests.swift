import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import Testing

/// Untrusted code (a component's build step, a policy's command, an image's own programs) against
/// the host: with real Debian trees, the real collector and the real binary.
extension EndToEndTests.Sandbox {
    /// A step leaves no process behind, sees only its own environment, and a /tmp it turned into a
    /// link to a host directory leads Hallmark's next step nowhere near that directory.
    @Test func stepLeavesNothingOnTheHost() async throws {
        let tree = try await Self.parentTree()
        defer { try? FileManager.default.removeItem(atPath: (tree as NSString).deletingLastPathComponent) }
        let hostDirectory = Hallmark.scratchReports() + "/host-directory"
        try FileManager.default.createDirectory(atPath: hostDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: hostDirectory) }
        setenv("HALLMARK_CANARY", "leaked", 1)
        defer { unsetenv("HALLMARK_CANARY") }

        let executor = ChrootExecutor(root: tree, scratch: tree + ".step", environment: ["GIVEN": "yes"])
        defer { try? FileManager.default.removeItem(atPath: tree + ".step") }
        let first = try await executor.run(
            bashScript: """
                setsid sleep 3181 >/dev/null 2>&1 </dev/null &
                nohup sleep 3182 >/dev/null 2>&1 &
                env > /root/step-env
                rm -rf /tmp && ln -s \(hostDirectory) /tmp
                echo planted
                """, timeout: .seconds(60))
        #expect(first.exitCode == 0, "\(first.stderr)")
        #expect(first.stdout == "planted\n")
        #expect(try await Self.processes(matching: "sleep 318[12]").isEmpty)

        let second = try await executor.run(bashScript: "echo next > /tmp/through-the-link; echo ran\n", timeout: .seconds(60))
        #expect(second.stdout.contains("ran"), "\(second.stdout) \(second.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: hostDirectory).isEmpty)

        let environment = try String(contentsOfFile: tree + "/root/step-env", encoding: .utf8)
        #expect(environment.contains("GIVEN=yes"))
        #expect(environment.contains("DEBIAN_FRONTEND=noninteractive"))
        #expect(!environment.contains("HALLMARK_"), "\(environment)")
        // The host's resolver was lent for the steps: the tree keeps its own file (the parent's, or none).
        let hostResolver = try String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        #expect((try? String(contentsOfFile: tree + "/etc/resolv.conf", encoding: .utf8)) != hostResolver)
    }

    /// mmdebstrap copies the host's resolv.conf and hostname into the tree; the parent keeps neither.
    @Test func parentShipsNoHostFiles() async throws {
        let tree = try await Self.parentTree()
        defer { try? FileManager.default.removeItem(atPath: (tree as NSString).deletingLastPathComponent) }
        for file in ["/etc/resolv.conf", "/etc/hostname"] {
            let host = try String(contentsOfFile: file, encoding: .utf8)
            #expect((try? String(contentsOfFile: tree + file, encoding: .utf8)) != host, "\(file) is the host's")
        }
    }

    /// A hermetic build step has no network to reach.
    @Test func hermeticStepHasNoNetwork() async throws {
        let tree = try await Self.parentTree()
        defer { try? FileManager.default.removeItem(atPath: (tree as NSString).deletingLastPathComponent) }
        let executor = ChrootExecutor(root: tree, scratch: tree + ".step", network: false)
        let result = try await executor.run(bashScript: "ls /sys/class/net\n", timeout: .seconds(60))
        #expect(result.exitCode == 0, "\(result.stderr)")
        #expect(result.stdout == "lo\n")
    }

    /// The same attempts from a real image's component and policy, built and tested by `hallmark run`.
    @Test(.tags(.vm)) func hostileImageIsTestedWithoutReachingTheHost() async throws {
        for leftover in ["/tmp/hallmark-hostile-marker", "/tmp/hallmark-hostile-collector"] {
            try? FileManager.default.removeItem(atPath: leftover)
        }
        let reports = Hallmark.scratchReports()
        let run = try await Hallmark.run(
            ["run", Repository.root + "/Tests/Fixtures/hostile.yaml"], reports: reports,
            environment: ["HALLMARK_CANARY": "leaked"])
        #expect(run.status == .exited(0), "\(run.output)")
        let report = try run.report(image: "e2e-hostile")
        for id in ["step-environment-is-clean", "build-escape-landed-in-the-tree", "collector-escape-refused"] {
            let control = report.control(id)
            #expect(control?.result == "pass", "\(id): \(String(describing: control))")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/hallmark-hostile-marker"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/hallmark-hostile-collector"))
        #expect(try await Self.processes(matching: "sleep 319[12]").isEmpty)
    }
}

extension EndToEndTests.Sandbox {
    /// An unpacked copy of the test run's bootstrapped parent.
    static func parentTree() async throws -> String {
        _ = try await SharedImages.minimal()  // builds the minimal image, and so its parent, if not yet there
        let parents = Hallmark.home + "/cache/parents"
        let tarball = try #require(try FileManager.default.contentsOfDirectory(atPath: parents).first { $0.hasSuffix(".tar") })
        let tree = Hallmark.scratchReports() + "/tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try await HostCommand("tar", ["--numeric-owner", "-xpf", parents + "/" + tarball, "-C", tree]).run()
        return tree
    }

    static func processes(matching pattern: String) async throws -> String {
        try await HostCommand("/bin/sh", ["-c", "pgrep -af \(shellQuoted(pattern)) || true"]).output()
    }
}

extension EndToEndTests.Sandbox {
    /// `hallmark component run` on an unpacked Debian tree: the ten-step fixture changes the tree
    /// as a build would, reports TOE's status and every step, and leaves no scratch in the home;
    /// a step that fails fails the run with exit 3, naming the step.
    @Test func componentRunIteratesOnAnUnpackedTree() async throws {
        let tree = try await Self.parentTree()
        defer { try? FileManager.default.removeItem(atPath: (tree as NSString).deletingLastPathComponent) }
        let fixture = Repository.root + "/Tests/Fixtures/components/ten-steps.yaml"
        let workBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: Hallmark.home + "/work")) ?? [])
        let started = ContinuousClock.now
        let run = try await Hallmark.run(
            ["component", "run", fixture, "--rootfs", tree, "--parameter", "Greeting=bonjour", "--json"], reports: tree + ".reports",
            passReports: false, separateErrors: true)
        let seconds = (ContinuousClock.now - started).seconds
        #expect(run.status == .exited(0), "\(run.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        #expect(report["status"] as? String == "Success", "\(report)")
        let steps = (report["steps"] as? [[String: Any]]) ?? []
        #expect(steps.count == 10, "\(steps)")
        #expect(steps.allSatisfy { ["success", "skipped"].contains($0["outcome"] as? String) }, "\(steps)")
        let greeting = try String(contentsOfFile: tree + "/etc/hallmark-ten/greeting", encoding: .utf8)
        #expect(greeting.hasPrefix("bonjour"), "\(greeting)")
        #expect(Set((try? FileManager.default.contentsOfDirectory(atPath: Hallmark.home + "/work")) ?? []) == workBefore)
        print("component run: ten steps on an unpacked bookworm tree in \(String(format: "%.2f", seconds)) s wall")

        let failing = tree + ".failing.yaml"
        defer { try? FileManager.default.removeItem(atPath: failing) }
        try
            "name: failing\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - {name: Breaks, action: ExecuteBash, inputs: {commands: ['exit 5']}}\n"
            .write(toFile: failing, atomically: true, encoding: .utf8)
        let broken = try await Hallmark.run(
            ["component", "run", failing, "--rootfs", tree, "--phase", "build"], reports: tree + ".reports", passReports: false)
        #expect(broken.status == .exited(3), "\(broken.output)")
        #expect(broken.output.contains("step 'Breaks' failed with exit code 5"), "\(broken.output)")
        #expect(broken.output.contains("failing: Failed"), "\(broken.output)")
    }

    /// What S3Upload sends is read in the sandbox, the path resolved in the tree (an absolute link
    /// leads to the tree's file, not the host's), and streamed to the host file, whatever its size.
    @Test func aFileCopiedOutOfTheTreeIsTheTreesOwn() async throws {
        let tree = try await Self.parentTree()
        defer { try? FileManager.default.removeItem(atPath: (tree as NSString).deletingLastPathComponent) }
        try "in-the-tree\n".write(toFile: tree + "/etc/hostname", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: tree + "/root/link", withDestinationPath: "/etc/hostname")
        let big = tree + "/root/big.bin"
        try await HostCommand("/bin/sh", ["-c", "head -c 268435456 /dev/urandom > \(shellQuoted(big))"]).run()
        let executor = ChrootExecutor(root: tree, scratch: tree + ".step")
        let out = tree + ".out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { for path in [tree + ".step", out] { try? FileManager.default.removeItem(atPath: path) } }

        let linked = try await executor.copyOut("/root/link", to: out + "/link", timeout: .seconds(60))
        #expect(linked.exitCode == 0, "\(linked.stderr)")
        #expect(try String(contentsOfFile: out + "/link", encoding: .utf8) == "in-the-tree\n")
        let started = ContinuousClock.now
        let copied = try await executor.copyOut("/root/big.bin", to: out + "/big.bin", timeout: .seconds(120))
        let seconds = (ContinuousClock.now - started).seconds
        #expect(copied.exitCode == 0, "\(copied.stderr)")
        #expect(try await Digest.sha256(fileAt: out + "/big.bin") == Digest.sha256(fileAt: big))
        print("copyOut: 256 MiB out of the tree in \(String(format: "%.2f", seconds)) s")
        let missing = try await executor.copyOut("/root/none", to: out + "/none", timeout: .seconds(60))
        #expect(missing.exitCode != 0)
        #expect(missing.stderr.contains("No such file"), "\(missing.stderr)")
    }

    /// `component run --image` runs the steps on a throw-away copy of a built image's tree: they
    /// see what the image holds, and the image's disk is the same bytes afterwards.
    @Test func componentRunOnABuiltImageLeavesTheImageAlone() async throws {
        let image = try await SharedImages.minimal()
        let disk = image.bootDisk.path
        let recorded = try #require(image.fileDigests?[String(disk.dropFirst(image.directory.count + 1))])
        let scratch = try TemporaryDirectory()
        let component = try scratch.write(
            "probe.yaml",
            """
            name: probe
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - {name: SeesTheImage, action: ExecuteBash, inputs: {commands: ['grep -q "^PermitRootLogin no" /etc/ssh/sshd_config.d/10-hallmark-hardening.conf']}}
                  - {name: Changes, action: ExecuteBash, inputs: {commands: ['echo changed > /etc/probe-was-here']}}
            """)
        let run = try await Hallmark.run(
            ["component", "run", component, "--image", "e2e-minimal@1.0.0/\(image.build)", "--phase", "build"], reports: scratch.path,
            passReports: false)
        #expect(run.status == .exited(0), "\(run.output)")
        #expect(run.output.contains("unpacking \(image.reference) into a throw-away tree"), "\(run.output)")
        #expect(run.output.contains("probe: Success"), "\(run.output)")
        #expect(try await Digest.sha256(fileAt: disk) == recorded, "component run --image changed the image's disk")

        let both = try await Hallmark.run(
            ["component", "run", component, "--image", "e2e-minimal", "--rootfs", scratch.path], reports: scratch.path, passReports: false)
        #expect(both.status == .exited(64), "\(both.output)")
        #expect(both.output.contains("give one of --rootfs DIR and --image NAME[@VERSION]"), "\(both.output)")
    }
}
