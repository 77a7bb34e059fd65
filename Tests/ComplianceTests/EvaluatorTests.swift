@testable import Compliance
import Foundation
@testable import HallmarkModel
import HallmarkSupport
import Testing

func control(_ id: String, _ check: Check, severity: Severity = .high) -> Control {
    Control(id: id, title: id, severity: severity, rationale: nil, remediation: nil, references: [:], check: check,
            location: SourceLocation(file: "p.yaml", line: 1, column: 1))
}

func policy(_ controls: [Control]) -> Policy {
    Policy(id: "p", title: "P", version: nil, controls: controls, path: "p.yaml", digest: "")
}

/// Runs the real collector script on this host's shell over a fake root is not possible for all
/// probes, so facts are written as the collector would report them.
func facts(_ probes: [String: (Int32, String)], reboot: RebootFact? = nil) -> Facts {
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
        let check = Check.file(FileCheck(path: "/etc/shadow", exists: true, owner: "root", group: "shadow", modeCeiling: 0o640, contains: [], notContains: [], sha256: nil))
        let results = Evaluator.evaluate(policy([control("c", check)]), facts: facts(["file:/etc/shadow": (0, stat + "\n")]))
        #expect(results[0].status == expected)
    }

    @Test func missingFileFailsUnlessItMustBeAbsent() {
        let present = FileCheck(path: "/x", exists: true, owner: nil, group: nil, modeCeiling: nil, contains: [], notContains: [], sha256: nil)
        var absent = present
        absent.exists = false
        let observed = facts(["file:/x": (1, "stat: cannot statx '/x': No such file or directory")])
        #expect(Evaluator.evaluate(policy([control("a", .file(present))]), facts: observed)[0].status == .fail)
        #expect(Evaluator.evaluate(policy([control("b", .file(absent))]), facts: observed)[0].status == .pass)
    }

    @Test(arguments: [
        ("permitrootlogin no\npermitemptypasswords no\n", Matcher.equals("no"), ResultStatus.pass),
        ("permitrootlogin yes\n", .equals("no"), .fail),
        ("permitrootlogin prohibit-password\n", .oneOf(["no", "prohibit-password"]), .pass),
        ("permitrootlogin without-password\n", .matches("^(no|prohibit-password)$"), .fail),
    ])
    func sshdEffectiveSettings(output: String, matcher: Matcher, expected: ResultStatus) {
        let results = Evaluator.evaluate(policy([control("c", .sshd(SshdCheck(setting: "permitrootlogin", value: matcher)))]),
                                         facts: facts(["sshd": (0, output)]))
        #expect(results[0].status == expected)
    }

    @Test func sshdThatCannotRunIsAnErrorNotAPass() {
        let results = Evaluator.evaluate(policy([control("c", .sshd(SshdCheck(setting: "permitrootlogin", value: .equals("no"))))]),
                                         facts: facts(["sshd": (255, "sshd: no hostkeys available -- exiting.")]))
        #expect(results[0].status == .error)
    }

    @Test func numericComparison() {
        let check = Check.sshd(SshdCheck(setting: "maxauthtries", value: .compare(.le, 4)))
        #expect(Evaluator.evaluate(policy([control("c", check)]), facts: facts(["sshd": (0, "maxauthtries 4\n")]))[0].status == .pass)
        #expect(Evaluator.evaluate(policy([control("c", check)]), facts: facts(["sshd": (0, "maxauthtries 6\n")]))[0].status == .fail)
    }

    @Test func accounts() {
        let check = Check.accounts(AccountsCheck(noEmptyPasswords: true, uidZero: ["root"]))
        let good = facts(["passwd": (0, "root:x:0:0::/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\n"), "shadow-empty-passwords": (0, "")])
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
            #expect(Evaluator.evaluate(policy([control("c", .package(check))]), facts: observed)[0].status == expected, "\(check)")
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
        let results = Evaluator.evaluate(policy([control("c", .sysctl(SysctlCheck(key: "net.ipv4.ip_forward", value: .equals("0"))))]), facts: Facts())
        #expect(results[0].status == .notchecked)
    }

    @Test func gateHonoursTheThreshold() {
        let failingLow = Evaluator.evaluate(policy([control("low", .sysctl(SysctlCheck(key: "k", value: .equals("1"))), severity: .low)]),
                                            facts: facts(["sysctl:k": (0, "0\n")]))
        #expect(failingLow[0].status == .fail)
        #expect(Evaluator.verdict(failingLow, threshold: .info) == .fail)
        #expect(Evaluator.verdict(failingLow, threshold: .medium) == .pass)
        let notChecked = Evaluator.evaluate(policy([control("r", .reboot)]), facts: Facts())
        #expect(Evaluator.verdict(notChecked, threshold: .info) == .incomplete)
    }
}

@Suite struct CollectorTests {
    /// The generated collector really runs under /bin/sh and its output parses back to the probes.
    @Test func scriptRunsAndRoundTrips() async throws {
        let controls = [
            control("a", .command(CommandCheck(run: "printf 'line1\\nline2'; echo err >&2; exit 3", exitCode: 3, stdout: nil))),
            control("b", .command(CommandCheck(run: "echo \"quotes ' and \\\" survive\"", exitCode: 0, stdout: nil))),
            control("c", .file(FileCheck(path: "/etc/hostname", exists: true, owner: nil, group: nil, modeCeiling: nil, contains: [], notContains: [], sha256: nil))),
        ]
        let probes = Collector.probes(for: controls).filter { $0.key != "system-state" }
        #expect(Set(probes.map(\.key)).count == probes.count)
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("collector-\(UUID().uuidString).sh").path
        try Collector.script(for: probes).write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let output = try await HostCommand("/bin/sh", [script]).output()
        let parsed = try Collector.parse(output, probes: probes)
        #expect(parsed["command:printf 'line1\\nline2'; echo err >&2; exit 3"] == ProbeOutput(exitCode: 3, stdout: "line1\nline2", stderr: "err\n"))
        #expect(parsed["command:echo \"quotes ' and \\\" survive\""]?.stdout == "quotes ' and \" survive\n")
        #expect(parsed["file:/etc/hostname"]?.exitCode == 0)
    }

    @Test func truncatedOutputIsAnError() {
        let probes = [Probe(key: "a", script: "true"), Probe(key: "b", script: "true")]
        #expect(throws: HallmarkError.self) { try Collector.parse("0 0  \n", probes: probes) }
    }
}
