import Foundation
import HallmarkSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

func control(_ id: String, _ check: Check, severity: Severity = .high) -> Control {
    Control(
        id: id, title: id, severity: severity, rationale: nil, remediation: nil, references: [:], check: check,
        location: SourceLocation(file: "p.yaml", line: 1, column: 1))
}

func policy(_ controls: [Control]) -> Policy {
    Policy(id: "p", title: "P", version: nil, controls: controls, path: "p.yaml", digest: "")
}

/// Runs the real collector script on this host's shell over a fake root is not possible for all
/// probes, so facts are written as the collector would report them.
func facts(_ probes: [ProbeKey: (Int32, String)], reboot: RebootFact? = nil) -> Facts {
    Facts(probes: probes.mapValues { ProbeOutput(exitCode: $0.0, stdout: $0.1, stderr: $0.0 == 0 ? "" : $0.1) }, reboot: reboot)
}

@Suite struct EvaluatorTests {
    @Test(arguments: [
        ("regular file|root|shadow|640", ResultStatus.pass),
        ("regular file|root|shadow|600", .pass),
        ("regular file|root|shadow|644", .fail),
        ("regular file|root|root|640", .fail),
        ("regular file|nobody|shadow|640", .fail),
    ])
    func fileOwnerGroupAndModeCeiling(stat: String, expected: ResultStatus) {
        let check = Check(
            FileCheck(
                path: "/etc/shadow", exists: true, owner: "root", group: "shadow", modeCeiling: 0o640, contains: [], notContains: [],
                sha256: nil))
        let results = Evaluator.evaluate(policy([control("c", check)]), facts: facts(["file:/etc/shadow": (0, stat + "\n")]))
        #expect(results[0].status == expected)
    }

    @Test func missingFileFailsUnlessItMustBeAbsent() {
        let present = FileCheck(
            path: "/x", exists: true, owner: nil, group: nil, modeCeiling: nil, contains: [], notContains: [], sha256: nil)
        var absent = present
        absent.exists = false
        let observed = facts(["file:/x": (1, "stat: cannot statx '/x': No such file or directory")])
        #expect(Evaluator.evaluate(policy([control("a", Check(present))]), facts: observed)[0].status == .fail)
        #expect(Evaluator.evaluate(policy([control("b", Check(absent))]), facts: observed)[0].status == .pass)
    }

    @Test(arguments: [
        ("permitrootlogin no\npermitemptypasswords no\n", Matcher.equals("no"), ResultStatus.pass),
        ("permitrootlogin yes\n", .equals("no"), .fail),
        ("permitrootlogin prohibit-password\n", .oneOf(["no", "prohibit-password"]), .pass),
        ("permitrootlogin without-password\n", .matches("^(no|prohibit-password)$"), .fail),
    ])
    func sshdEffectiveSettings(output: String, matcher: Matcher, expected: ResultStatus) {
        let results = Evaluator.evaluate(
            policy([control("c", Check(SshdCheck(setting: "permitrootlogin", value: matcher)))]),
            facts: facts(["sshd": (0, output)]))
        #expect(results[0].status == expected)
    }

    @Test func sshdThatCannotRunIsAnErrorNotAPass() {
        let results = Evaluator.evaluate(
            policy([control("c", Check(SshdCheck(setting: "permitrootlogin", value: .equals("no"))))]),
            facts: facts(["sshd": (255, "sshd: no hostkeys available -- exiting.")]))
        #expect(results[0].status == .error)
    }

    @Test func numericComparison() {
        let check = Check(SshdCheck(setting: "maxauthtries", value: .compare(.le, 4)))
        #expect(Evaluator.evaluate(policy([control("c", check)]), facts: facts(["sshd": (0, "maxauthtries 4\n")]))[0].status == .pass)
        #expect(Evaluator.evaluate(policy([control("c", check)]), facts: facts(["sshd": (0, "maxauthtries 6\n")]))[0].status == .fail)
    }

    @Test func accounts() {
        let check = Check(AccountsCheck(noEmptyPasswords: true, uidZero: ["root"]))
        let good = facts([
            "passwd": (0, "root:x:0:0::/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n"), "shadow-empty-passwords": (0, ""),
        ])
        let extraRoot = facts(["passwd": (0, "root:x:0:0::/root:/bin/bash\ntoor:x:0:0::/:/bin/sh\n"), "shadow-empty-passwords": (0, "")])
        let emptyPassword = facts(["passwd": (0, "root:x:0:0::/root:/bin/bash\n"), "shadow-empty-passwords": (0, "guest\n")])
        #expect(Evaluator.evaluate(policy([control("c", check)]), facts: good)[0].status == .pass)
        let extra = Evaluator.evaluate(policy([control("c", check)]), facts: extraRoot)[0]
        #expect(extra.status == .fail)
        #expect(extra.message.contains("toor"))
        #expect(Evaluator.evaluate(policy([control("c", check)]), facts: emptyPassword)[0].status == .fail)
    }

    @Test func packagesInstalledOrAbsent() {
        let listing = "openssh-server\tii \t1:9.2p1-2\ntelnetd\tun \t\n"
        let observed = facts(["packages": (0, listing)])
        let checks: [(PackageCheck, ResultStatus)] = [
            (PackageCheck(name: "openssh-server", installed: true), .pass),
            (PackageCheck(name: "telnetd", installed: false), .pass),
            (PackageCheck(name: "rsh-server", installed: false), .pass),
            (PackageCheck(name: "openssh-server", installed: false), .fail),
            (PackageCheck(name: "nginx", installed: true), .fail),
        ]
        for (check, expected) in checks {
            #expect(Evaluator.evaluate(policy([control("c", Check(check))]), facts: observed)[0].status == expected, "\(check)")
        }
    }

    @Test func rebootNeedsANewBootID() {
        let check = control("r", .reboot)
        let same = RebootFact(bootIDBefore: "a", bootIDAfter: "a", secondsToReturn: 1, failure: nil)
        let new = RebootFact(bootIDBefore: "a", bootIDAfter: "b", secondsToReturn: 14.2, failure: nil)
        let lost = RebootFact(bootIDBefore: "a", bootIDAfter: nil, secondsToReturn: nil, failure: "did not come back")
        #expect(Evaluator.evaluate(policy([check]), facts: facts([:], reboot: new))[0].status == .pass)
        #expect(Evaluator.evaluate(policy([check]), facts: facts([:], reboot: same))[0].status == .fail)
        #expect(Evaluator.evaluate(policy([check]), facts: facts([:], reboot: lost))[0].status == .fail)
        #expect(Evaluator.evaluate(policy([check]), facts: facts([:], reboot: nil))[0].status == .notchecked)
    }

    @Test func missingFactsAreNotCheckedNeverPassed() {
        let results = Evaluator.evaluate(
            policy([control("c", Check(SysctlCheck(key: "net.ipv4.ip_forward", value: .equals("0"))))]), facts: Facts())
        #expect(results[0].status == .notchecked)
    }

    @Test func gateHonoursTheThreshold() {
        let failingLow = Evaluator.evaluate(
            policy([control("low", Check(SysctlCheck(key: "k", value: .equals("1"))), severity: .low)]),
            facts: facts(["sysctl:k": (0, "0\n")]))
        #expect(failingLow[0].status == .fail)
        #expect(Gate.verdict(failingLow, threshold: .info) == .fail)
        #expect(Gate.verdict(failingLow, threshold: .medium) == .pass)
        let notChecked = Evaluator.evaluate(policy([control("r", .reboot)]), facts: Facts())
        #expect(Gate.verdict(notChecked, threshold: .info) == .incomplete)
    }
}

@Suite struct CollectorTests {
    func run(_ plan: CollectorPlan) async throws -> [ProbeKey: ProbeOutput] {
        try plan.parse(try await HostCommand("/bin/sh", ["-c", plan.script]).output())
    }

    /// The generated collector really runs under /bin/sh, in two lanes, and its output parses back
    /// to the exact bytes, stderr and exit code of each probe.
    @Test func scriptRunsAndRoundTrips() async throws {
        let controls = [
            control("a", Check(CommandCheck(run: "printf 'line1\\nline2'; echo err >&2; exit 3", exitCode: 3, stdout: nil))),
            control("b", Check(CommandCheck(run: "echo \"quotes ' and \\\" survive\"", exitCode: 0, stdout: nil))),
            control(
                "c",
                Check(
                    FileCheck(
                        path: "/etc/hostname", exists: true, owner: nil, group: nil, modeCeiling: nil, contains: [], notContains: [],
                        sha256: nil))),
            control(
                "d",
                Check(
                    FileCheck(
                        path: "/hallmark/absent", exists: false, owner: nil, group: nil, modeCeiling: nil, contains: [], notContains: [],
                        sha256: nil))),
            control("e", Check(CommandCheck(run: "printf 'no final newline\\n\\n'; printf 'x' >&2", exitCode: 0, stdout: nil))),
            control("f", Check(SysctlCheck(key: "kernel.ostype", value: .equals("Linux")))),
            control("g", Check(CommandCheck(run: "exit 0; (", exitCode: 0, stdout: nil))),
        ]
        let probes = Collector.probes(for: controls)
        #expect(Set(probes.map(\.key)).count == probes.count)
        let parsed = try await run(CollectorPlan(probes: probes, lanes: 2))
        #expect(
            parsed["command:printf 'line1\\nline2'; echo err >&2; exit 3"]
                == ProbeOutput(exitCode: 3, stdout: "line1\nline2", stderr: "err\n"))
        #expect(parsed["command:echo \"quotes ' and \\\" survive\""]?.stdout == "quotes ' and \" survive\n")
        #expect(
            parsed["command:printf 'no final newline\\n\\n'; printf 'x' >&2"]
                == ProbeOutput(exitCode: 0, stdout: "no final newline\n\n", stderr: "x"))
        #expect(parsed["file:/etc/hostname"]?.exitCode == 0)
        #expect(parsed["file:/etc/hostname"]?.stdout.hasPrefix("regular file|") == true)
        #expect(parsed["file:/hallmark/absent"]?.exitCode == 1)
        #expect(parsed["file:/hallmark/absent"]?.stderr.contains("No such file") == true)
        #expect(parsed["sysctl:kernel.ostype"] == ProbeOutput(exitCode: 0, stdout: "Linux\n", stderr: ""))
        // A syntax error stays inside its probe.
        #expect(parsed["command:exit 0; ("]?.exitCode == 2)
        #expect(parsed.count == probes.count)
    }

    /// Hallmark's cat of builtins reproduces files byte for byte (but NUL), with or without a final newline.
    @Test func builtinCatKeepsBytes() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-cat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let texts = ["a\\b  c\n\tindented\n\n", "no newline", "", "\n", "ünïcode * $HOME `x`\n"]
        var probes: [Probe] = []
        for (index, text) in texts.enumerated() {
            try text.write(toFile: "\(directory)/\(index)", atomically: true, encoding: .utf8)
            probes.append(Probe(key: ProbeKey(coded: "\(index)"), script: "hm_cat \(directory)/\(index)", execution: .inline))
        }
        probes.append(Probe(key: "missing", script: "hm_cat \(directory)/missing", execution: .inline))
        let parsed = try await run(CollectorPlan(probes: probes, lanes: 1))
        for (index, text) in texts.enumerated() { #expect(parsed[ProbeKey(coded: "\(index)")]?.stdout == text, "\(index)") }
        #expect(parsed["missing"]?.exitCode == 1)
        #expect(parsed["missing"]?.stderr.contains("No such file or directory") == true)
    }

    /// Lanes claim probes as they go: each probe runs exactly once, and while one lane is busy
    /// with a slow probe the other runs the rest.
    @Test func lanesClaimEachProbeOnceAndDoNotWaitForEachOther() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-lanes-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var probes = [
            Probe(
                key: "slow", script: "echo slow >>\(directory)/ran; sleep 2; touch \(directory)/slow-done", execution: .subshell(cost: 50))
        ]
        for index in 0..<12 {
            probes.append(
                Probe(
                    key: ProbeKey(coded: "quick\(index)"),
                    script: "echo \(index) >>\(directory)/ran; test -e \(directory)/slow-done && echo after || echo during"))
        }
        let parsed = try await run(CollectorPlan(probes: probes, lanes: 2))
        let ran = try String(contentsOfFile: directory + "/ran", encoding: .utf8).split(separator: "\n")
        #expect(ran.count == probes.count)
        #expect(Set(ran).count == probes.count)
        for index in 0..<12 { #expect(parsed[ProbeKey(coded: "quick\(index)")]?.stdout == "during\n", "quick\(index)") }
    }

    @Test func servicesAreAnsweredByOneSystemctlShow() {
        let probes = ["ssh", "nope"].map { ServiceCheck.probe($0) }
        let plan = CollectorPlan(probes: probes, boundary: "B")
        #expect(plan.script.components(separatedBy: "systemctl show").count == 2)
        let output =
            "B 0 out\nActiveState=active\nUnitFileState=enabled\n\nActiveState=inactive\nUnitFileState=\n\nB 0 end 0\nB 0 err\n\nB 0 end\n"
        let parsed = try? plan.parse(output)
        #expect(parsed?["service:ssh"]?.stdout == "enabled=enabled\nactive=active\n")
        #expect(parsed?["service:nope"]?.stdout == "enabled=\nactive=inactive\n")
    }

    @Test func truncatedOutputIsAnError() {
        let plan = CollectorPlan(probes: [Probe(key: "a", script: "true"), Probe(key: "b", script: "true")], boundary: "B")
        #expect(throws: HallmarkError.self) { try plan.parse("B 0 out\n\nB 0 end 0\nB 1 out\nhalf") }
        #expect(throws: HallmarkError.self) { try plan.parse("") }
    }
}
