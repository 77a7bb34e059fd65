import Foundation
import HallmarkSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

/// Runs the generated collector for the new probes under this host's /bin/sh (the probes that only
/// read /proc, /etc and the filesystem are safe to run here) and evaluates what they report.
@Suite(.serialized) struct CollectorProbeTests {
    func collect(_ controls: [Control]) async throws -> Facts {
        let plan = CollectorPlan(probes: Collector.probes(for: controls))
        let output = try await HostCommand("/bin/sh", ["-c", plan.script]).output()
        return Facts(probes: try plan.parse(output))
    }

    @Test func procAndEtcProbesRunOnThisHost() async throws {
        let controls = [
            control("root-mount", Check(MountCheck(path: "/"))),
            control("proc-mount", Check(MountCheck(path: "/proc"))),
            control("no-port-1", Check(PortCheck(port: 1, protocol: .tcp, listening: false))),
            control("ostype", Check(SysctlCheck(key: "kernel.ostype", value: .equals("Linux")))),
            control("persisted", Check(SysctlCheck(key: "hallmark.test.never.set", value: .equals("1"), persisted: true, live: false))),
            control("root-user", Check(UserCheck(name: "root", uid: .equals("0")))),
            control("root-group", Check(GroupCheck(name: "root", gid: .equals("0")))),
            control("accounts", Check(AccountsCheck(uidZero: ["root"], uniqueUserNames: true, uniqueGroupNames: true))),
            control("module", Check(KernelModuleCheck(name: "hallmark_no_such_module", loadable: false))),
        ]
        let observed = try await collect(controls)
        #expect(observed.probes["mounts"]?.stdout.contains(" /proc proc ") == true)
        #expect(observed.probes["sockets"]?.stdout.contains("== tcp") == true)
        #expect(observed.probes["sysctl-config"]?.exitCode == 0)
        let results = Evaluator.evaluate(policy(controls), facts: observed)
        for result in results {
            #expect(
                result.status == (result.control.id == "persisted" ? .fail : .pass),
                "\(result.control.id): \(result.status) \(result.message) \(result.evidence)")
        }
    }

    @Test func findProbesSeeSetIDAndUnownedFiles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-find-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let allowed = directory + "/allowed", unexpected = directory + "/unexpected", orphan = directory + "/orphan"
        for path in [allowed, unexpected, orphan] { _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) }
        try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: allowed)
        try FileManager.default.setAttributes([.posixPermissions: 0o2755], ofItemAtPath: unexpected)
        let canChown = getuid() == 0
        if canChown { try FileManager.default.setAttributes([.ownerAccountID: 54321, .groupOwnerAccountID: 54321], ofItemAtPath: orphan) }

        let check = Check(FindCheck(paths: [directory], unowned: false, suidAllowed: [allowed]))
        let observed = try await collect([control("find", check)])
        let result = Evaluator.evaluate(policy([control("find", check)]), facts: observed)[0]
        #expect(result.status == .fail)
        #expect(result.message.contains("not in the allow-list: \(unexpected)"), "\(result.message)")
        #expect(!result.message.contains("allow-list: \(allowed)"))
        if canChown { #expect(result.evidence.contains(orphan), "\(result.evidence)") }
    }

    @Test func onlyIfProbesAreCollectedToo() {
        var guarded = control("c", Check(SshdCheck(setting: "permitrootlogin", value: .equals("no"))))
        guarded.onlyIf = Check(PackageCheck(name: "openssh-server"))
        #expect(Collector.probes(for: [guarded]).map(\.key) == ["packages", "sshd"])
    }

    @Test func probesAreStaticOrRuntime() {
        let controls = [
            control("a", Check(ServiceCheck(name: "ssh", active: true))),
            control("b", Check(SysctlCheck(key: "k", value: .equals("1"), persisted: true))),
            control("c", Check(KernelModuleCheck(name: "cramfs", loadable: false))),
            control("d", Check(CommandCheck(run: "uname -r", exitCode: 0, stdout: nil, runtime: true))),
            control("e", Check(CommandCheck(run: "cat /etc/os-release", exitCode: 0, stdout: nil))),
            control("f", Check(SshdCheck(setting: "x", value: .equals("y")))),
            control("g", .bootHealth),
        ]
        #expect(
            Collector.probes(for: controls, source: .rootfs).map(\.key)
                == ["sysctl-config", "kernel-module:cramfs", "command:cat /etc/os-release", "sshd"])
        #expect(Collector.probes(for: controls, source: .guest).count == 9)

        // A booted test reads the static probes from the artifact and asks the guest for the rest, each once.
        let (image, guest) = Collector.split(Collector.probes(for: controls))
        #expect(image.map(\.key) == Collector.probes(for: controls, source: .rootfs).map(\.key))
        #expect(guest.map(\.key) == ["service:ssh", "sysctl:k", "modules-loaded", "command:uname -r", "failed-units"])
    }

    /// Each result says where its facts were observed: a booted test mixes the artifact and the guest.
    @Test func resultsNameWhereTheirFactsWereObserved() {
        var mixed = control("mixed", Check(ServiceCheck(name: "ssh", active: true)))
        mixed.onlyIf = Check(PackageCheck(name: "openssh-server"))
        let controls = [
            mixed,
            control("file", Check(FileCheck(path: "/etc/shadow"))),
            control("reboot", .reboot),
            control("health", .bootHealth),
        ]
        let observed = Facts(
            probes: [
                "packages": ProbeOutput(exitCode: 0, stdout: "openssh-server\tii \t1\n", stderr: ""),
                "service:ssh": ProbeOutput(exitCode: 0, stdout: "enabled=enabled\nactive=active\n", stderr: ""),
                "file:/etc/shadow": ProbeOutput(exitCode: 0, stdout: "regular file|root|shadow|640\n", stderr: ""),
                "failed-units": ProbeOutput(exitCode: 0, stdout: "", stderr: ""),
                Facts.systemStateKey: ProbeOutput(exitCode: 0, stdout: "running\n", stderr: ""),
            ],
            reboot: RebootFact(bootIDBefore: "a", bootIDAfter: "b", secondsToReturn: 1, failure: nil), source: .guest,
            probeSources: ["packages": .image, "file:/etc/shadow": .image])
        let sources = Dictionary(
            uniqueKeysWithValues: Evaluator.evaluate(policy(controls), facts: observed).map { ($0.control.id, $0.observedIn) })
        #expect(sources == ["mixed": [.guest, .image], "file": [.image], "reboot": [.guest], "health": [.guest]])

        let rootfs = Facts(probes: observed.probes, source: .rootfs)
        #expect(Evaluator.evaluate(policy([controls[1]]), facts: rootfs)[0].observedIn == [.rootfs])
        #expect(Evaluator.componentTestResult(component: "c", path: "c.yaml", failure: nil).observedIn == [.guest])
    }
}

@Suite struct ShippedPolicyTestCases {
    /// Every test case written into a shipped policy holds.
    @Test func shippedPoliciesPassTheirOwnTests() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let directory = root + "/policies"
        var cases = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: directory).filter({ $0.hasSuffix(".yaml") }) {
            let policy = try Policy.load(path: directory + "/" + file)
            for outcome in PolicyTestRunner.run(policy) {
                cases += 1
                #expect(outcome.passed, "\(file) / \(outcome.name): \(outcome.mismatches)")
            }
        }
        #expect(cases >= 9)
    }

    @Test func aFailingExpectationIsReported() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-ptest-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/p.yaml"
        try """
        id: p
        title: P
        controls:
          - {id: fwd, title: F, severity: low, check: {sysctl: {key: net.ipv4.ip_forward, value: "0"}}}
        tests:
          - name: wrong
            facts: {"sysctl:net.ipv4.ip_forward": "1"}
            expect: {fwd: pass}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let outcomes = PolicyTestRunner.run(try Policy.load(path: path))
        #expect(outcomes.count == 1 && !outcomes[0].passed)
        #expect(outcomes[0].mismatches[0].contains("fwd: expected pass, got fail"), "\(outcomes[0].mismatches)")
    }
}
