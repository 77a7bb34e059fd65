import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Compliance

/// The CIS controls for sshd's access lists and X11 forwarding, timesyncd's servers and /var/log's
/// files, through the shipped policy's own controls, on what Debian 12 prints and ships
/// (Tests/Fixtures/debian12-etc: sshd -T of Debian's sshd, timesyncd.conf, the parent tree's /var/log).
@Suite struct CISCoverageTests {
    static func debian(_ name: String) throws -> String {
        try String(contentsOfFile: Repository.fixture("debian12-etc/" + name), encoding: .utf8)
    }

    static let cis = Result { try Policy.load(path: Repository.root + "/policies/cis-debian12-level1.yaml") }

    /// One control of the shipped CIS policy on these facts (its only_if left out: each test gives
    /// the probes of the check alone).
    static func evaluate(_ id: String, _ probes: [ProbeKey: (Int32, String)]) throws -> ControlResult {
        var found = try #require(try cis.get().controls.first { $0.id == id }, "no control \(id)")
        found.onlyIf = nil
        return Evaluator.evaluate(policy([found]), facts: facts(probes))[0]
    }

    // MARK: sshd (5.1.4, 5.1.8)

    @Test(arguments: [
        // Debian's sshd_config names nobody: every account may log in.
        ("shipped.txt", ResultStatus.fail, "prints none of allowusers"),
        ("cis.txt", .pass, "allowgroups sudo"),
        // Lists from several drop-ins add up, one sshd -T line per entry.
        ("access-lists.txt", .pass, "allowusers alice; allowusers bob; allowusers carol; denygroups nossh"),
        ("violated.txt", .fail, "every account may log in"),
    ])
    func sshdAccessNeedsOneOfTheFourLists(output: String, expected: ResultStatus, fragment: String) throws {
        let result = try Self.evaluate("cis-ssh-access", ["sshd": (0, try Self.debian("sshd-T/" + output))])
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test(arguments: [
        // Debian's sshd_config sets X11Forwarding yes after its Include.
        ("shipped.txt", ResultStatus.fail),
        ("cis.txt", .pass),
        // 05-violate.conf is read before 20-cis.conf, and sshd keeps the first value: yes, although
        // DisableForwarding yes (also in effect) would stop the forwarding itself.
        ("violated.txt", .fail),
    ])
    func x11ForwardingIsTheValueSshdUses(output: String, expected: ResultStatus) throws {
        let stdout = try Self.debian("sshd-T/" + output)
        let result = try Self.evaluate("cis-ssh-x11-forwarding", ["sshd": (0, stdout)])
        #expect(result.status == expected, "\(result.message)")
        #expect(result.evidence.hasPrefix("x11forwarding "), "\(result.evidence)")
    }

    @Test func anySetIsReadFromYAMLAndExcludesSetting() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let header = "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: c\n    severity: low\n    check: {sshd: "
        let good = try scratch.write("good.yaml", header + "{any_set: [AllowUsers, DenyGroups]}}\n")
        let check = try #require(try Policy.load(path: good).controls[0].check.as(SshdCheck.self))
        #expect(check.anySet == ["allowusers", "denygroups"])
        let both = try scratch.write("both.yaml", header + "{any_set: [AllowUsers], setting: X11Forwarding, value: \"no\"}}\n")
        #expect(throws: HallmarkError.self) { try Policy.load(path: both) }
        let empty = try scratch.write("empty.yaml", header + "{any_set: []}}\n")
        #expect(throws: HallmarkError.self) { try Policy.load(path: empty) }
    }

    // MARK: timesyncd (2.3.2.1)

    static func timesyncd(_ dropIns: [(String, String)]) throws -> String {
        EffectiveConfigTests.dump([("/etc/systemd/timesyncd.conf", try debian("systemd/timesyncd.conf"))] + dropIns)
    }

    /// What components/cis-time.yaml writes, with its default servers.
    static let cisTime =
        "# CIS 2.3.2.1 (managed by the cis-time component)\n[Time]\nNTP=0.debian.pool.ntp.org 1.debian.pool.ntp.org\nFallbackNTP=2.debian.pool.ntp.org 3.debian.pool.ntp.org\n"

    @Test func debiansTimesyncdConfNamesNoServer() throws {
        let shipped = try Self.timesyncd([])
        let ntp = try Self.evaluate("cis-timesyncd-ntp", ["timesyncd-conf": (0, shipped)])
        #expect(ntp.status == .fail && ntp.message.contains("NTP is not set"), "\(ntp.message)")
        // Unset, FallbackNTP is Debian's compiled-in pool: in effect, but not the site's choice.
        let fallback = try Self.evaluate("cis-timesyncd-fallback-ntp", ["timesyncd-conf": (0, shipped)])
        #expect(fallback.status == .fail, "\(fallback.message)")
        #expect(fallback.message.contains("'0.debian.pool.ntp.org 1.debian.pool.ntp.org 2.debian.pool.ntp.org 3.debian.pool.ntp.org'"))
        let inEffect = Evaluator.evaluate(
            policy([control("c", Check(TimesyncdCheck(setting: .fallbackNTP, value: .matches("^0\\.debian\\.pool"))))]),
            facts: facts(["timesyncd-conf": (0, shipped)]))[0]
        #expect(inEffect.status == .pass && inEffect.message.contains("(the default)"), "\(inEffect.message)")
    }

    @Test(arguments: [
        ([("/etc/systemd/timesyncd.conf.d/60-cis.conf", cisTime)], ResultStatus.pass, "NTP=0.debian.pool.ntp.org 1.debian.pool.ntp.org"),
        // A later drop-in's empty NTP= clears the list.
        (
            [
                ("/etc/systemd/timesyncd.conf.d/60-cis.conf", cisTime),
                ("/usr/lib/systemd/timesyncd.conf.d/70-vendor.conf", "[Time]\nNTP=\n"),
            ],
            .fail, "NTP is not set"
        ),
        // A drop-in in /etc hides the same name in /usr/lib; assignments add up across files.
        (
            [
                ("/etc/systemd/timesyncd.conf.d/60-cis.conf", "[Time]\nNTP=ntp1.example.org\n"),
                ("/usr/lib/systemd/timesyncd.conf.d/60-cis.conf", "[Time]\nNTP=\n"),
                ("/usr/lib/systemd/timesyncd.conf.d/80-more.conf", "[Time]\nNTP=ntp2.example.org ntp1.example.org\n"),
            ], .pass, "NTP=ntp1.example.org ntp2.example.org"
        ),
        // Outside [Time] it is not timesyncd's setting; a commented line is not one either.
        (
            [("/etc/systemd/timesyncd.conf.d/60-cis.conf", "[Other]\nNTP=ntp1.example.org\n[Time]\n#NTP=ntp2.example.org\n")], .fail,
            "NTP is not set"
        ),
    ])
    func timesyncdServersAreReadInTimesyncdsOrder(dropIns: [(String, String)], expected: ResultStatus, fragment: String) throws {
        let result = try Self.evaluate("cis-timesyncd-ntp", ["timesyncd-conf": (0, try Self.timesyncd(dropIns))])
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test func cisTimeSetsTheFallbackToo() throws {
        let stdout = try Self.timesyncd([("/etc/systemd/timesyncd.conf.d/60-cis.conf", Self.cisTime)])
        let result = try Self.evaluate("cis-timesyncd-fallback-ntp", ["timesyncd-conf": (0, stdout)])
        #expect(result.status == .pass && result.message.contains("60-cis.conf:4"), "\(result.message)")
        #expect(try Self.evaluate("cis-timesyncd-ntp", ["timesyncd-conf": (1, "cannot read x")]).status == .error)
    }

    // MARK: /var/log (6.1.4.1)

    /// The parent tree's listing with `changes` (mode owner group path) replacing or adding files, as
    /// the probe prints it (NUL after each file).
    static func varLog(_ changes: [String] = []) throws -> String {
        var entries = try debian("var-log.txt").split(separator: "\n").map(String.init)
        for change in changes {
            let path = change.split(separator: " ", maxSplits: 3).last.map(String.init) ?? change
            entries.removeAll { $0.hasSuffix(" " + path) }
            entries.append(change)
        }
        return entries.map { $0 + "\0" }.joined()
    }

    @Test(arguments: [
        // Debian creates /var/log/faillog 0644; CIS allows every file but the login records 0640.
        ([String](), ResultStatus.fail, "/var/log/faillog: mode 644 (at most 640)"),
        (["640 root root /var/log/faillog"], .pass, "4 files"),
        // dpkg and apt write their logs 0644; term.log is 0640 root:adm.
        (
            ["640 root root /var/log/faillog", "644 root root /var/log/dpkg.log", "640 root adm /var/log/apt/term.log"], .fail,
            "dpkg.log: mode 644"
        ),
        // Login records and their rotations may be group-writable by utmp, not by others.
        (["640 root root /var/log/faillog", "664 root utmp /var/log/wtmp.1", "660 root utmp /var/log/btmp-20261201"], .pass, "6 files"),
        (["640 root root /var/log/faillog", "666 root utmp /var/log/wtmp"], .fail, "wtmp: mode 666 (at most 664)"),
        (["640 root root /var/log/faillog", "664 root adm /var/log/lastlog"], .fail, "lastlog: group adm (root or utmp)"),
        // Journal files: systemd-journal's, 0640.
        (
            [
                "640 root root /var/log/faillog", "640 root systemd-journal /var/log/journal/0123/system.journal",
                "640 root systemd-journal /var/log/journal/0123/user-1000@0006-0001.journal~",
            ], .pass, "6 files"
        ),
        (
            ["640 root root /var/log/faillog", "640 root adm /var/log/journal/0123/system.journal"], .fail,
            "group adm (root or systemd-journal)"
        ),
        // Authentication logs: rsyslog's syslog user and adm group are allowed.
        (["640 root root /var/log/faillog", "640 syslog adm /var/log/auth.log"], .pass, "5 files"),
        (["640 root root /var/log/faillog", "640 _apt adm /var/log/auth.log"], .fail, "owner _apt (root or syslog)"),
        // A name holding a space is one file.
        (["640 root root /var/log/faillog", "600 root root /var/log/a b.log"], .pass, "5 files"),
    ])
    func logFilesHaveTheirKindsModeOwnerAndGroup(changes: [String], expected: ResultStatus, fragment: String) throws {
        let result = try Self.evaluate("cis-log-files", ["log-files:/var/log": (0, try Self.varLog(changes))])
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test func logFilesOutputThatIsNotAListingIsAnError() throws {
        #expect(try Self.evaluate("cis-log-files", ["log-files:/var/log": (0, "garbage\0")]).status == .error)
        #expect(try Self.evaluate("cis-log-files", ["log-files:/var/log": (1, "find: permission denied")]).status == .error)
        // No /var/log at all (the probe prints nothing): nothing to protect.
        #expect(try Self.evaluate("cis-log-files", ["log-files:/var/log": (0, "")]).status == .pass)
    }

    /// The probe itself, on a scratch directory: find's -printf gives what the parser reads.
    @Test func theLogFilesProbeListsModeOwnerGroupAndPath() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let file = try scratch.write("sub/x y.log", "line\n")
        _ = try await HostCommand("/bin/chmod", ["0644", file]).output()
        let check = LogFilesCheck(directory: scratch.path)
        let stdout = try await HostCommand("/bin/sh", ["-c", check.probes[0].script]).output()
        let owner = try await HostCommand("/usr/bin/id", ["-un"]).output().trimmingCharacters(in: .whitespacesAndNewlines)
        let group = try await HostCommand("/usr/bin/id", ["-gn"]).output().trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(stdout == "644 \(owner) \(group) \(file)\0")
        let result = check.evaluate(facts([check.probes[0].key: (0, stdout)]))
        #expect(result.status == .fail && result.message.contains("x y.log: mode 644"), "\(result.message)")
    }

    // MARK: root's PATH (5.4.2.5)

    /// The PATH Debian's /etc/profile gives root (uid 0).
    static func debiansRootPath() throws -> String {
        let line = try #require(try debian("profile").split(separator: "\n").first { $0.contains("PATH=\"/usr/local/sbin") })
        return String(line.split(separator: "\"")[1])
    }

    /// The probe's output for `path`, each absolute entry a directory with `modes[entry]` (755 by
    /// default) owned by `owners[entry]` (root), or not a directory when listed in `missing`.
    static func rootPath(_ path: String, modes: [String: String] = [:], owners: [String: String] = [:], missing: Set<String> = [])
        -> String
    {
        var out = "path=\(path)\n"
        for entry in path.split(separator: ":").map(String.init) {
            if missing.contains(entry) || !entry.hasPrefix("/") {
                out += "notdir \(entry)\n"
            } else {
                out += "dir \(modes[entry] ?? "755") \(owners[entry] ?? "root") \(entry)\n"
            }
        }
        return out
    }

    @Test func debiansRootPathPasses() throws {
        let path = try Self.debiansRootPath()
        #expect(path == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        let result = try Self.evaluate("cis-root-path", ["root-path": (0, Self.rootPath(path))])
        #expect(result.status == .pass, "\(result.message)")
    }

    /// A weak root PATH: the PATH, the entries that are not as Debian ships them, what the failure names.
    struct WeakPath: Sendable, CustomStringConvertible {
        var path: String
        var modes: [String: String] = [:]
        var owners: [String: String] = [:]
        var missing: Set<String> = []
        var fragment: String
        var description: String { path }
    }

    static let weakPaths: [WeakPath] = [
        WeakPath(path: ":/usr/sbin:/usr/bin", fragment: "an empty entry"),
        WeakPath(path: "/usr/sbin::/usr/bin", fragment: "an empty entry"),
        WeakPath(path: "/usr/sbin:/usr/bin:", fragment: "an empty entry"),
        WeakPath(path: "/usr/sbin:.:/usr/bin", fragment: "'.' is relative"),
        WeakPath(path: "/usr/sbin:bin", fragment: "'bin' is relative"),
        WeakPath(path: "/usr/sbin:/opt/tools/bin", modes: ["/opt/tools/bin": "775"], fragment: "/opt/tools/bin is mode 775"),
        WeakPath(path: "/usr/sbin:/tmp", modes: ["/tmp": "1777"], fragment: "/tmp is mode 1777"),
        WeakPath(path: "/usr/sbin:/home/admin/bin", owners: ["/home/admin/bin": "admin"], fragment: "/home/admin/bin is owned by admin"),
        WeakPath(path: "/usr/sbin:/snap/bin", missing: ["/snap/bin"], fragment: "/snap/bin is not a directory"),
    ]

    @Test(arguments: weakPaths)
    func rootPathFailsOnEachWeakEntry(weak: WeakPath) throws {
        let stdout = Self.rootPath(weak.path, modes: weak.modes, owners: weak.owners, missing: weak.missing)
        let result = try Self.evaluate("cis-root-path", ["root-path": (0, stdout)])
        #expect(result.status == .fail, "\(result.message)")
        #expect(result.message.contains(weak.fragment), "\(result.message)")
    }

    @Test func rootPathIsRuntimeOnlyAndItsProbeRunsOnDebian() async throws {
        #expect(RootPathCheck.probe.runtime)
        #expect(try Self.evaluate("cis-root-path", ["root-path": (0, "unexpected\n")]).status == .error)
        // This host is Debian 12: a clean login shell as root reads its /etc/profile.
        guard getuid() == 0, FileManager.default.fileExists(atPath: "/bin/bash") else { return }
        let stdout = try await HostCommand("/bin/sh", ["-c", RootPathCheck.probe.script]).output()
        let result = RootPathCheck().evaluate(facts(["root-path": (0, stdout)]))
        #expect(stdout.hasPrefix("path=/"), "\(stdout)")
        #expect(result.status != .error, "\(result.message)")
    }

    // MARK: runtime controls of the booted guest (MTA, AppArmor, wireless, AIDE, time service)

    /// A control whose check reads one probe, on that probe's `stdout`.
    static func evaluateOne(_ id: String, _ stdout: String, exitCode: Int32 = 0) throws -> ControlResult {
        let found = try #require(try cis.get().controls.first { $0.id == id }, "no control \(id)")
        let probes = found.check.probes
        try #require(probes.count == 1, "\(id) reads \(probes.count) probes")
        return try evaluate(id, [probes[0].key: (exitCode, stdout)])
    }

    /// /proc/net tables as the sockets probe prints them, with one TCP listener row per address:port.
    static func sockets(tcp: [String] = [], tcp6: [String] = []) -> String {
        let heading = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        func rows(_ addresses: [String], zero: String) -> String {
            addresses.enumerated().map { index, address in
                "   \(index): \(address) \(zero):0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1\n"
            }.joined()
        }
        return "== tcp\n" + heading + rows(["00000000:0016"] + tcp, zero: "00000000") + "== tcp6\n" + heading
            + rows(tcp6, zero: String(repeating: "0", count: 32)) + "== udp\n" + heading + "== udp6\n" + heading
    }

    @Test(arguments: [
        // sshd alone.
        (CISCoverageTests.sockets(), ResultStatus.pass),
        // postfix with inet_interfaces = loopback-only: 127.0.0.1:25 and [::1]:25.
        (CISCoverageTests.sockets(tcp: ["0100007F:0019"], tcp6: ["00000000000000000000000001000000:0019"]), .pass),
        // postfix's default, inet_interfaces = all.
        (CISCoverageTests.sockets(tcp: ["00000000:0019"]), .fail),
        (CISCoverageTests.sockets(tcp6: ["00000000000000000000000000000000:0019"]), .fail),
        // A public address, and an IPv4-mapped loopback one.
        (CISCoverageTests.sockets(tcp: ["0F02000A:0019"]), .fail),
        (CISCoverageTests.sockets(tcp6: ["0000000000000000FFFF00000100007F:0019"]), .pass),
    ])
    func mtaListensOnLoopbackAtMost(sockets: String, expected: ResultStatus) throws {
        let result = try Self.evaluateOne("cis-mta-local-only-smtp", sockets)
        #expect(result.status == expected, "\(result.message) \(result.evidence)")
    }

    @Test func exceptLoopbackOnlyWithListeningFalse() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let bad = try scratch.write(
            "p.yaml",
            "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: c\n    severity: low\n    check: {port: {port: 25, listening: true, except_loopback: true}}\n"
        )
        #expect(throws: HallmarkError.self) { try Policy.load(path: bad) }
        // Other ports are not affected: submission on 0.0.0.0:587 fails its own control only.
        let submission = Self.sockets(tcp: ["00000000:024B"])
        #expect(try Self.evaluateOne("cis-mta-local-only-submission", submission).status == .fail)
        #expect(try Self.evaluateOne("cis-mta-local-only-smtp", submission).status == .pass)
    }

    @Test(arguments: [
        // Debian 12's kernel: AppArmor enabled and in the LSM list.
        ("cis-apparmor-enabled", "enabled=Y lsm=apparmor", Int32(0), ResultStatus.pass),
        ("cis-apparmor-enabled", "enabled=N lsm=lockdown,capability,landlock,yama,bpf", 0, .fail),
        // Debian's apparmor package loads lsb_release and nvidia_modprobe in enforce mode.
        ("cis-apparmor-profiles-mode", "loaded=2", 0, .pass),
        ("cis-apparmor-profiles-mode", "loaded=0", 0, .fail),
        ("cis-apparmor-profiles-mode", "loaded=3\n/usr/sbin/tcpdump (kill)", 0, .fail),
        ("cis-apparmor-profiles-mode", "AppArmor is not enabled", 1, .fail),
        ("cis-no-wireless", "", 0, .pass),
        ("cis-no-wireless", "wlan0", 0, .fail),
        ("cis-single-time-service", "1", 0, .pass),
        // timesyncd and chrony both running, or neither.
        ("cis-single-time-service", "2", 0, .fail),
        ("cis-single-time-service", "0", 0, .fail),
        ("cis-chrony-user", "_chrony", 0, .pass),
        ("cis-chrony-user", "root", 0, .fail),
        ("cis-aide-timer", "enabled=enabled\nactive=active\n", 0, .pass),
        ("cis-aide-timer", "enabled=disabled\nactive=inactive\n", 0, .fail),
        // aideinit writes the database 0600 root:root; aide-common alone writes none.
        ("cis-aide-database", "regular file|root|root|600\n", 0, .pass),
        ("cis-aide-database", "stat: cannot statx '/var/lib/aide/aide.db': No such file or directory\n", 1, .fail),
    ])
    func guestControls(id: String, stdout: String, exitCode: Int32, expected: ResultStatus) throws {
        let result = try Self.evaluateOne(id, stdout, exitCode: exitCode)
        #expect(result.status == expected, "\(id): \(result.message)")
    }

    @Test func theNewGuestControlsAreRuntimeOnly() throws {
        let runtime = [
            "cis-apparmor-enabled", "cis-apparmor-profiles-mode", "cis-no-wireless", "cis-single-time-service", "cis-chrony-user",
            "cis-aide-timer", "cis-mta-local-only-smtp", "cis-root-path",
        ]
        for id in runtime {
            let found = try #require(try Self.cis.get().controls.first { $0.id == id })
            let runtime = found.check.probes.allSatisfy(\.runtime)
            #expect(runtime, "\(id)")
        }
        let staticIDs = [
            "cis-ssh-access", "cis-ssh-x11-forwarding", "cis-timesyncd-ntp", "cis-log-files", "cis-aide-database", "cis-chrony-servers",
        ]
        for id in staticIDs {
            let found = try #require(try Self.cis.get().controls.first { $0.id == id })
            let anyRuntime = found.check.probes.contains(where: \.runtime)
            #expect(!anyRuntime, "\(id)")
        }
    }

    // MARK: chrony's sources (2.3.3.1)

    /// cis-chrony-servers' own command, run on this host over a scratch copy of /etc/chrony (the
    /// paths in the command and in chrony.conf moved there): Debian's chrony.conf, changed by `edit`,
    /// and `files` (path under etc/chrony, content).
    static func chronyServers(edit: (String) -> String = { $0 }, files: [(String, String)] = []) async throws -> ControlResult {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let root = scratch.path
        let conf = edit(try debian("chrony/chrony.conf")).replacingOccurrences(of: " /etc/chrony/", with: " \(root)/etc/chrony/")
            .replacingOccurrences(of: " /run/", with: " \(root)/run/")
        try scratch.write("etc/chrony/chrony.conf", conf)
        for (path, content) in files { try scratch.write("etc/chrony/" + path, content) }
        var found = try #require(try cis.get().controls.first { $0.id == "cis-chrony-servers" })
        found.onlyIf = nil
        let command = try #require(found.check.as(CommandCheck.self))
        let run = command.run.replacingOccurrences(of: "/etc/chrony/chrony.conf", with: root + "/etc/chrony/chrony.conf")
        // The command ends with true: output() throws on any other exit.
        let stdout = try await HostCommand("/bin/sh", ["-c", run]).output()
        let moved = CommandCheck(run: run, exitCode: command.exitCode, stdout: command.stdout)
        return Evaluator.evaluate(policy([control("c", Check(moved))]), facts: facts([ProbeKey("command", run): (0, stdout)]))[0]
    }

    static func noPool(_ conf: String) -> String {
        conf.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("pool ") }.joined(separator: "\n")
    }

    @Test func chronysSourcesAreReadWhereChronydReadsThem() async throws {
        // Debian's chrony.conf has "pool 2.debian.pool.ntp.org iburst".
        let shipped = try await Self.chronyServers()
        #expect(shipped.status == .pass && shipped.evidence.contains("pool 2.debian.pool.ntp.org"), "\(shipped.evidence)")
        let none = try await Self.chronyServers(edit: Self.noPool)
        #expect(none.status == .fail, "\(none.evidence)")
        // sourcedir /etc/chrony/sources.d: *.sources files only.
        let sources = try await Self.chronyServers(
            edit: Self.noPool, files: [("sources.d/site.sources", "server ntp1.example.org iburst\n")])
        #expect(sources.status == .pass && sources.evidence.contains("server ntp1.example.org"), "\(sources.evidence)")
        let wrongSuffix = try await Self.chronyServers(
            edit: Self.noPool, files: [("sources.d/site.conf", "server ntp1.example.org iburst\n")])
        #expect(wrongSuffix.status == .fail, "\(wrongSuffix.evidence)")
        // confdir /etc/chrony/conf.d: *.conf files.
        let confdir = try await Self.chronyServers(edit: Self.noPool, files: [("conf.d/site.conf", "pool pool.example.org iburst\n")])
        #expect(confdir.status == .pass, "\(confdir.evidence)")
        // A commented pool is none.
        let commented = try await Self.chronyServers(edit: { Self.noPool($0) + "\n# pool 2.debian.pool.ntp.org iburst\n" })
        #expect(commented.status == .fail, "\(commented.evidence)")
    }
}
