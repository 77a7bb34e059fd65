import Foundation
import HallmarkSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

/// A probe that failed, could not run, was cut short or printed something unexpected never makes
/// a control pass: it is an error (or notchecked, saying why).
@Suite struct FailClosedTests {
    static func file(_ path: String, exists: Bool = true, contains: [String] = [], notContains: [String] = [], sha256: String? = nil)
        -> Check
    {
        Check(
            FileCheck(
                path: path, exists: exists, owner: nil, group: nil, modeCeiling: nil, contains: contains, notContains: notContains,
                sha256: sha256))
    }

    static let regularFile = "regular file|root|root|644\n"

    // MARK: services and boot health

    @Test func aServiceIsAnErrorWhenSystemctlFailed() throws {
        // The batched `systemctl show` failed as a whole: exit 1, nothing on stdout.
        let probes = ["telnet", "rsh"].map { ServiceCheck.probe($0) }
        let plan = CollectorPlan(probes: probes, boundary: "B")
        let parsed = try plan.parse("B 0 out\n\nB 0 end 1\nB 0 err\nFailed to connect to bus\nB 0 end\n")
        let observed = Facts(probes: parsed)
        for name in ["telnet", "rsh"] {
            let result = status(Check(ServiceCheck(name: name, enabled: false, active: false)), observed)
            #expect(result.status == .error, "\(name): \(result.message)")
        }
    }

    @Test(arguments: [
        (0, ""),  // nothing reported at all
        (0, "enabled=disabled\n"),  // no active state
        (0, "enabled=disabled\nactive=\n"),
        (0, "enabled=disabled\nactive=inactive\nactive=active\n"),  // two answers
        (0, "garbage\n"),
        (1, "enabled=disabled\nactive=inactive\n"),
    ])
    func aServiceWithoutAClearAnswerIsAnError(code: Int32, stdout: String) {
        let result = status(Check(ServiceCheck(name: "telnet", enabled: false, active: false)), facts(["service:telnet": (code, stdout)]))
        #expect(result.status == .error, "\(result.message)")
    }

    @Test func aSystemctlShowBlockWithoutBothPropertiesIsAnError() throws {
        let probes = [ServiceCheck.probe("a")]
        let parsed = try CollectorPlan(probes: probes, boundary: "B").parse("B 0 out\nActiveState=inactive\n\nB 0 end 0\n")
        #expect(status(Check(ServiceCheck(name: "a", enabled: false, active: false)), Facts(probes: parsed)).status == .error)
    }

    @Test func bootHealthIsAnErrorWhenSystemctlFailedCouldNotRun() {
        let result = status(.bootHealth, facts(["failed-units": (127, "sh: 1: systemctl: not found")]))
        #expect(result.status == .error, "\(result.message)")
        #expect(status(.bootHealth, facts(["failed-units": (0, "")])).status == .pass)
    }

    // MARK: find

    static let suid = Check(FindCheck(paths: ["/"], suidAllowed: ["/usr/bin/passwd"]))
    static let worldWritable = Check(FindCheck(paths: ["/"], worldWritable: false))
    static let unowned = Check(FindCheck(paths: ["/"], unowned: false))

    @Test(arguments: [
        (Int32(0), ""),  // `2>/dev/null; true`: the walk did not happen, or printed nothing
        (127, ""),  // no find
        (1, "setid /usr/bin/passwd\0"),  // an I/O error part way
        (0, "setid /usr/bin/passwd\0"),  // cut short: no end record
        (0, "setid /usr/bin/passwd\0end"),  // end record not terminated
        (0, "setid /usr/bin/passwd\nend\0"),  // newline-separated, as facts before NUL records
        (0, "suid /usr/bin/passwd\0end\0"),  // unknown tag
        (0, "setid\0end\0"),  // no path
        (0, "end\0end\0"),
    ])
    func aWalkThatDidNotCompleteIsAnError(code: Int32, stdout: String) {
        let observed = Facts(probes: [
            "find:/": ProbeOutput(exitCode: code, stdout: stdout, stderr: code == 0 ? "" : "find: '/x': Input/output error\n")
        ])
        for check in [Self.suid, Self.worldWritable, Self.unowned] {
            let result = status(check, observed)
            #expect(result.status == .error, "\(result.message)")
        }
    }

    @Test func aSetIDFileNamedWithANewlineCannotHideBehindAnAllowedOne() {
        // A file named "passwd\ninnocent" in /usr/bin: newline-separated lines read it as the allowed /usr/bin/passwd.
        let observed = facts(["find:/": (0, "setid /usr/bin/passwd\0setid /usr/bin/passwd\ninnocent\0end\0")])
        let result = status(Self.suid, observed)
        #expect(result.status == .fail, "\(result.message)")
        #expect(result.message.contains("1 SUID/SGID file(s) not in the allow-list"))
        #expect(status(Self.suid, facts(["find:/": (0, "setid /usr/bin/passwd\0end\0")])).status == .pass)
    }

    /// The real walk on this host: NUL records, its errors reported, a set-uid file whose name
    /// holds a newline named exactly.
    @Test func theWalkReportsItsOwnErrorsAndNamesFilesExactly() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-walk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let allowed = directory + "/passwd", hidden = directory + "/passwd\ninnocent"
        for path in [allowed, hidden] {
            _ = FileManager.default.createFile(atPath: path, contents: Data("x".utf8))
            try FileManager.default.setAttributes([.posixPermissions: 0o4755], ofItemAtPath: path)
        }
        let controls = [
            control("suid", Check(FindCheck(paths: [directory], suidAllowed: [allowed]))),
            control("missing", Check(FindCheck(paths: [directory + "/absent"], worldWritable: false))),
        ]
        let plan = CollectorPlan(probes: Collector.probes(for: controls))
        let observed = Facts(probes: try plan.parse(try await HostCommand("/bin/sh", ["-c", plan.script]).output()))
        let results = Evaluator.evaluate(policy(controls), facts: observed)
        #expect(results[0].status == .fail, "\(results[0].message)")
        #expect(results[0].evidence.contains(hidden))
        #expect(results[1].status == .error, "\(results[1].message)")
        #expect(results[1].message.contains("No such file"))
    }

    // MARK: file content, stat, sha256

    @Test func aContentCheckIsAnErrorWhenTheFileCouldNotBeRead() {
        let observed = facts([
            "file:/etc/ssh/sshd_config": (0, Self.regularFile),
            "content:/etc/ssh/sshd_config": (1, "head: cannot open '/etc/ssh/sshd_config' for reading: Permission denied"),
        ])
        let result = status(Self.file("/etc/ssh/sshd_config", notContains: ["^PermitRootLogin yes"]), observed)
        #expect(result.status == .error, "\(result.message)")
    }

    @Test func aTruncatedReadCannotProveAbsence() {
        let truncated = ProbeOutput(
            exitCode: FileCheck.contentTruncatedExitCode, stdout: "Port 22\n",
            stderr: "truncated: /etc/big has 2000000 bytes; the first 1048576 were read\n")
        let observed = Facts(probes: [
            "file:/etc/big": ProbeOutput(exitCode: 0, stdout: Self.regularFile, stderr: ""), "content:/etc/big": truncated,
        ])
        #expect(status(Self.file("/etc/big", notContains: ["^PermitRootLogin yes"]), observed).status == .error)
        #expect(status(Self.file("/etc/big", contains: ["^Banner"]), observed).status == .error)
        // What the part read shows still decides.
        #expect(status(Self.file("/etc/big", notContains: ["^Port"]), observed).status == .fail)
        #expect(status(Self.file("/etc/big", contains: ["^Port 22"]), observed).status == .pass)
    }

    /// The real content probe on this host says when a file is longer than what it read.
    @Test func theContentProbeReportsTruncation() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-content-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let long = directory + "/long", short = directory + "/short"
        try (String(repeating: "# padding\n", count: FileCheck.contentLimit / 10 + 1) + "PermitRootLogin yes\n").write(
            toFile: long, atomically: true, encoding: .utf8)
        try "Port 22\n".write(toFile: short, atomically: true, encoding: .utf8)
        let controls = [
            control("long", Self.file(long, notContains: ["^PermitRootLogin yes"])),
            control("short", Self.file(short, notContains: ["^PermitRootLogin yes"])),
            control("unreadable", Self.file(directory, notContains: ["^PermitRootLogin yes"])),
        ]
        let plan = CollectorPlan(probes: Collector.probes(for: controls))
        let observed = Facts(probes: try plan.parse(try await HostCommand("/bin/sh", ["-c", plan.script]).output()))
        #expect(observed.probes[ProbeKey("content", long)]?.exitCode == FileCheck.contentTruncatedExitCode)
        let results = Evaluator.evaluate(policy(controls), facts: observed)
        #expect(results.map(\.status) == [.error, .pass, .error], "\(results.map(\.message))")
    }

    @Test func aStatThatCouldNotRunDoesNotProveAbsence() {
        for stderr in [
            "sh: 1: stat: not found", "sh: 1: stat: No such file or directory", "stat: cannot statx '/etc/x': Permission denied",
        ] {
            let observed = Facts(probes: ["file:/etc/x": ProbeOutput(exitCode: 127, stdout: "", stderr: stderr)])
            #expect(status(Self.file("/etc/x", exists: false), observed).status == .error, "\(stderr)")
        }
        let absent = Facts(probes: [
            "file:/etc/x": ProbeOutput(exitCode: 1, stdout: "", stderr: "stat: cannot statx '/etc/x': No such file or directory\n")
        ])
        #expect(status(Self.file("/etc/x", exists: false), absent).status == .pass)
    }

    @Test func aChecksumThatCouldNotBeComputedIsAnError() {
        let observed = facts(["file:/etc/x": (0, Self.regularFile), "sha256:/etc/x": (1, "sha256sum: /etc/x: Input/output error")])
        #expect(status(Self.file("/etc/x", sha256: String(repeating: "0", count: 64)), observed).status == .error)
    }

    // MARK: commands, packages, sysctl, ports, kernel modules, mounts

    @Test func aFailedCommandWithoutAnExpectedExitCodeProvesNothing() {
        let check = Check(CommandCheck(run: "ls /etc/ssh/*_key", exitCode: nil, stdout: .equals("")))
        #expect(status(check, facts(["command:ls /etc/ssh/*_key": (127, "")])).status == .error)
        #expect(status(check, facts(["command:ls /etc/ssh/*_key": (0, "")])).status == .pass)
        // An expected failure is still a plain comparison.
        let expected = Check(CommandCheck(run: "grep -q x /f", exitCode: 1, stdout: nil))
        #expect(status(expected, facts(["command:grep -q x /f": (1, "")])).status == .pass)
    }

    @Test(arguments: ["inf", "nan", "0x10", "1e9", "", "30 ] || true"])
    func onlyPlainNumbersCompare(value: String) {
        let check = Check(CommandCheck(run: "v", exitCode: nil, stdout: .compare(.ge, 7)))
        #expect(status(check, facts(["command:v": (0, value)])).status == .fail)
    }

    @Test(arguments: [
        (Int32(0), ""),  // no package database
        (0, "openssh-server ii 1:9.2p1-2\n"),  // not tab-separated
        (2, "dpkg-query: error"),
    ])
    func aPackageListThatIsEmptyOrGarbledIsAnError(code: Int32, stdout: String) {
        let result = status(Check(PackageCheck(name: "telnetd", installed: false, version: nil)), facts(["packages": (code, stdout)]))
        #expect(result.status == .error, "\(result.message)")
    }

    @Test func aMultiArchPackageIsInstalledWhenAnyArchitectureIs() {
        let observed = facts(["packages": (0, "libc6\tun \t\nlibc6\tii \t2.36-9\n")])
        #expect(status(Check(PackageCheck(name: "libc6", installed: true, version: nil)), observed).status == .pass)
    }

    @Test func sysctlFactsThatSayNothingAreErrors() {
        let live = Check(SysctlCheck(key: "net.ipv4.ip_forward", value: .not("1")))
        #expect(status(live, facts(["sysctl:net.ipv4.ip_forward": (0, "")])).status == .error)
        let persisted = Check(SysctlCheck(key: "net.ipv4.ip_forward", value: .not("1"), persisted: true, live: false))
        #expect(
            status(persisted, facts(["sysctl-config": (1, "tail: cannot open '/etc/sysctl.d/x.conf' for reading: Permission denied")]))
                .status == .error)
    }

    @Test(arguments: [
        (Int32(0), "== tcp6\n  sl  local_address\n== udp\n== udp6\n"),  // the IPv4 table was not read
        (1, "== tcp\n== tcp6\n== udp\n== udp6\n"),  // a table could not be read
        (0, "== tcp\n  sl  local_address\n   0: 00000000:0016 00000000:0000 0A\n"),  // no IPv6 table, and not said to be absent
        (0, "== tcp\n   0: 123456:0017 00000000:0000 0A\n== tcp6 absent\n"),  // an address of 6 digits
        (0, "== tcp\n   0: 00000000:1 00000000:0000 0A\n== tcp6 absent\n"),  // a short port
        (0, "== tcp\n   0: 00000000:0017 00000000:0000 A\n== tcp6 absent\n"),
        (0, "== tcp\n   x: 00000000:0017 00000000:0000 0A\n== tcp6 absent\n"),
        (0, "   0: 00000000:0017 00000000:0000 0A\n== tcp\n== tcp6 absent\n"),  // a row before any table
        (0, "== tcp\n== tcp\n== tcp6 absent\n"),
        (0, "== smtp\n== tcp\n== tcp6 absent\n"),
    ])
    func socketTablesThatWereNotReadOrCannotBeParsedAreErrors(code: Int32, stdout: String) {
        let result = status(Check(PortCheck(port: 23, protocol: .tcp, listening: false)), facts(["sockets": (code, stdout)]))
        #expect(result.status == .error, "\(result.message)")
    }

    @Test func aKernelWithoutIPv6HasNoIPv6Table() {
        let observed = facts([
            "sockets": (0, "== tcp\n  sl  local_address\n   0: 0100007F:0019 00000000:0000 0A\n== tcp6 absent\n== udp\n== udp6 absent\n")
        ])
        #expect(status(Check(PortCheck(port: 23, protocol: .tcp, listening: false)), observed).status == .pass)
        #expect(status(Check(PortCheck(port: 25, protocol: .tcp, listening: false)), observed).status == .fail)
    }

    @Test func theSocketsProbeNamesEveryTableOnThisHost() async throws {
        let controls = [control("p", Check(PortCheck(port: 1, protocol: .udp, listening: false)))]
        let plan = CollectorPlan(probes: Collector.probes(for: controls))
        let observed = Facts(probes: try plan.parse(try await HostCommand("/bin/sh", ["-c", plan.script]).output()))
        let text = observed.probes["sockets"]?.stdout ?? ""
        for table in ["tcp", "tcp6", "udp", "udp6"] {
            #expect(text.contains("== \(table)\n") || text.contains("== \(table) absent\n"), "\(table)")
        }
        #expect(Evaluator.evaluate(policy(controls), facts: observed)[0].status == .pass)
    }

    @Test func aKernelModuleProbeThatFailedIsAnError() {
        let check = Check(KernelModuleCheck(name: "cramfs", loadable: false))
        #expect(status(check, facts(["kernel-module:cramfs": (1, "cannot tell which kernel's modules to read")])).status == .error)
        #expect(status(check, facts(["kernel-module:cramfs": (0, "")])).status == .error)
    }

    @Test func anEmptyMountTableIsAnError() {
        #expect(status(Check(MountCheck(path: "/tmp")), facts(["mounts": (0, "")])).status == .error)
    }

    // MARK: accounts: ids as glibc reads them

    static let passwd = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n"

    @Test(arguments: ["00", "000", "-0", "+0", " 0", "4294967296000000000000"])
    func aSecondUIDZeroSpelledDifferentlyFailsTheUIDZeroControl(uid: String) {
        let observed = facts(["passwd": (0, Self.passwd + "toor:x:\(uid):0::/root:/bin/sh\n")])
        let zero = status(Check(AccountsCheck(uidZero: ["root"])), observed)
        if uid == "4294967296000000000000" {
            // Saturates to 4294967295, as glibc reads it: not 0.
            #expect(zero.status == .pass, "\(zero.message)")
        } else {
            #expect(zero.status == .fail, "\(uid): \(zero.message)")
            #expect(zero.message.contains("toor"))
            #expect(status(Check(AccountsCheck(uniqueUIDs: true)), observed).status == .fail, "\(uid)")
        }
    }

    @Test(arguments: ["", "abc", "0x0", "0 ", "1e3", "٠"])
    func anUnparsableIDIsAnError(uid: String) {
        let observed = facts(["passwd": (0, Self.passwd + "odd:x:\(uid):0::/:/bin/sh\n"), "group": (0, "root:x:0:\n")])
        for check in [
            Check(AccountsCheck(uidZero: ["root"])), Check(AccountsCheck(uniqueUIDs: true)),
            Check(UserCheck(name: "root", uid: .equals("0"))),
        ] {
            let result = status(check, observed)
            #expect(result.status == .error, "'\(uid)': \(result.message)")
        }
        let groups = facts(["group": (0, "root:x:0:\nodd:x:\(uid):\n")])
        #expect(status(Check(AccountsCheck(uniqueGIDs: true)), groups).status == .error, "'\(uid)'")
        #expect(status(Check(GroupCheck(name: "root", gid: .equals("0"))), groups).status == .error, "'\(uid)'")
    }

    @Test func idsParseAsGlibcDoes() {
        let cases: [(String, UInt32?)] = [
            ("0", 0), ("00", 0), ("0001000", 1000), ("+5", 5), ("-0", 0), ("-1", UInt32.max), ("\t 7", 7),
            ("4294967295", UInt32.max), ("4294967296", UInt32.max), ("99999999999999999999999", UInt32.max),
            ("-18446744073709551615", 1), ("", nil), ("-", nil), ("1a", nil), ("1 ", nil), ("0x10", nil),
        ]
        for (text, expected) in cases { #expect(AccountDatabase.glibcID(Substring(text)) == expected, "'\(text)'") }
    }

    @Test func aUserCheckComparesTheNumberGlibcReads() {
        let observed = facts(["passwd": (0, "root:x:00:000:root:/root:/bin/bash\n")])
        #expect(status(Check(UserCheck(name: "root", uid: .equals("0"), gid: .equals("0"))), observed).status == .pass)
    }

    @Test func anEmptyOrMalformedAccountDatabaseIsAnError() {
        #expect(status(Check(AccountsCheck(uidZero: ["root"])), facts(["passwd": (0, "")])).status == .error)
        #expect(status(Check(AccountsCheck(uidZero: ["root"])), facts(["passwd": (0, "toor:x:0:0\n")])).status == .error)
        #expect(status(Check(UserCheck(name: "games", exists: false)), facts(["passwd": (0, "")])).status == .error)
        // Comments and blank lines are skipped, as glibc skips them.
        #expect(status(Check(AccountsCheck(uidZero: ["root"])), facts(["passwd": (0, "# local\n\n" + Self.passwd)])).status == .pass)
    }
}
