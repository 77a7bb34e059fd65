import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

/// Evaluation is total over whatever a guest prints: every resource's evaluator runs on random
/// and mutated fact sets without trapping, and always gives one of the result states.
@Suite struct EvaluatorFuzzTests {
    static let iterations = 10_000

    /// At least one control of every resource, with the options that take other parsing paths.
    static let checks: [Check] = [
        Check(FileCheck(path: "/etc/shadow", owner: "root", group: "shadow", modeCeiling: 0o640)),
        Check(
            FileCheck(
                path: "/etc/ssh/sshd_config", contains: ["^Port 22"], notContains: ["^PermitRootLogin yes"],
                sha256: String(repeating: "a", count: 64))),
        Check(FileCheck(path: "/etc/hosts.equiv", exists: false)),
        Check(PackageCheck(name: "openssh-server", version: VersionConstraint(">= 1:9.2, << 2:0"))),
        Check(PackageCheck(name: "telnetd", installed: false)),
        Check(ServiceCheck(name: "ssh", enabled: true, active: true)),
        Check(ServiceCheck(name: "telnet", enabled: false, active: false)),
        Check(SysctlCheck(key: "net.ipv4.ip_forward", value: .equals("0"), persisted: true, live: true)),
        Check(SysctlCheck(key: "kernel.randomize_va_space", value: .compare(.ge, 2))),
        Check(SysctlCheck(key: "fs.suid_dumpable", value: .not("1"), persisted: true, live: false)),
        Check(SshdCheck(setting: "maxauthtries", value: .compare(.le, 4))),
        Check(SshdCheck(setting: "permitrootlogin", value: .oneOf(["no", "prohibit-password"]))),
        Check(SshdCheck(anySet: ["AllowUsers", "AllowGroups", "DenyUsers", "DenyGroups"])),
        Check(
            AccountsCheck(
                noEmptyPasswords: true, uidZero: ["root"], gidZero: ["root", "sync"], uniqueUIDs: true, uniqueGIDs: true,
                uniqueUserNames: true, uniqueGroupNames: true, shadowedPasswords: true, groupsExist: true)),
        Check(FindCheck(paths: ["/"], worldWritable: false, unowned: false, suidAllowed: ["/usr/bin/passwd", "/usr/bin/su"])),
        Check(KernelModuleCheck(name: "cramfs", loadable: false)),
        Check(KernelModuleCheck(name: "usb-storage", loadable: false, loaded: false)),
        Check(KernelModuleCheck(name: "ext4", loaded: true)),
        Check(MountCheck(path: "/tmp", options: ["nodev", "nosuid"])),
        Check(MountCheck(path: "/")),
        Check(PortCheck(port: 22, protocol: .tcp, listening: true)),
        Check(PortCheck(port: 23, protocol: .tcp, listening: false)),
        Check(PortCheck(port: 68, protocol: .udp, listening: false)),
        Check(UserCheck(name: "root", uid: .equals("0"), gid: .compare(.lt, 1), shell: .matches("bash$"), home: .equals("/root"))),
        Check(UserCheck(name: "games", exists: false)),
        Check(GroupCheck(name: "shadow", gid: .notMatches("^0$"), members: .equals(""))),
        Check(GroupCheck(name: "wheel", exists: false)),
        .bootHealth,
        .reboot,
        Check(CommandCheck(run: "awk PASS_MAX_DAYS", exitCode: nil, stdout: .compare(.le, 365))),
        Check(CommandCheck(run: "ls keys", exitCode: 0, stdout: .equals(""), stderr: .notMatches("error"))),
        Check(CommandCheck(run: "uptime", exitCode: nil, stdout: .matches("^up"), runtime: true)),
        Check(TimezoneCheck(value: .oneOf(["Etc/UTC", "UTC"]))),
        Check(JournaldCheck(setting: "ForwardToSyslog", value: .equals("no"))),
        Check(JournaldCheck(setting: "Compress", value: .equals("yes"), explicit: true)),
        Check(TimesyncdCheck(setting: .ntp, value: .matches("[^ ]"), explicit: true)),
        Check(TimesyncdCheck(setting: .fallbackNTP, value: .matches("debian"))),
        Check(LogFilesCheck()),
        Check(RootPathCheck()),
        Check(PwqualityCheck(setting: "minlen", value: .compare(.ge, 14))),
        Check(PamModuleCheck(module: .faillock, setting: "deny", value: .matches("^[1-5]$"))),
        Check(PamModuleCheck(module: .pwhistory, setting: "use_authtok", value: .equals("yes"))),
        Check(ShellSessionCheck(.timeout(.compare(.le, 900)))),
        Check(ShellSessionCheck(.umask(0o027))),
        Check(Self.virtualPackage),
        Check(BootTimeCheck(to: .settled, withinSeconds: 30, kernelSeconds: 5, userspaceSeconds: 20)),
    ]

    static let virtualPackage: PackageCheck = {
        var check = PackageCheck(name: "telnet-server", installed: false)
        check.provided = true
        return check
    }()

    static let controls: [Control] = checks.enumerated().map { index, check in
        var made = control("c\(index)", check, severity: Severity.allCases[index % Severity.allCases.count])
        // Some controls go through only_if too.
        if index % 5 == 0 { made.onlyIf = checks[(index * 7) % checks.count] }
        return made
    }

    /// What the collector would report for a well-behaved image, by probe key; mutations start here.
    static let seeds: [ProbeKey: String] = [
        "file:/etc/shadow": "regular file|root|shadow|640\n",
        "file:/etc/ssh/sshd_config": "regular file|root|root|644\n",
        "file:/etc/hosts.equiv": "stat: cannot statx '/etc/hosts.equiv': No such file or directory\n",
        "sha256:/etc/ssh/sshd_config": String(repeating: "a", count: 64) + "  /etc/ssh/sshd_config\n",
        "content:/etc/ssh/sshd_config": "Port 22\nPermitRootLogin no\n",
        "packages": "openssh-server\tii \t1:9.2p1-2+deb12u3\ntelnetd\trc \t0.17-44\nlibc6\tii \t2.36-9\n",
        "service:ssh": "enabled=enabled\nactive=active\n",
        "service:telnet": "enabled=\nactive=inactive\n",
        "sysctl:net.ipv4.ip_forward": "0\n",
        "sysctl:kernel.randomize_va_space": "2\n",
        "sysctl-config":
            "==> /etc/sysctl.d/99-hardening.conf <==\nnet.ipv4.ip_forward = 0\nfs.suid_dumpable=0\n==> /etc/sysctl.conf <==\n# none\n",
        "sshd": "port 22\nmaxauthtries 4\npermitrootlogin no\n",
        "passwd": "root:x:0:0:root:/root:/bin/bash\nsync:x:4:65534:sync:/bin:/bin/sync\ngames:x:5:60::/usr/games:/usr/sbin/nologin\n",
        "group": "root:x:0:\nshadow:x:42:\nsync:x:4:\n",
        "shadow-empty-passwords": "",
        "find:/": "setid /usr/bin/passwd\0setid /usr/bin/su\0world-writable /tmp/x\0unowned /opt/a\nb\0end\0",
        "kernel-module:cramfs": "kernel=6.1.0-28-amd64\ninstall /bin/false\nmodprobe-exit=0\n",
        "kernel-module:usb-storage": "kernel=6.1.0-28-amd64\nmodprobe=absent\nfile=/lib/modules/6.1/usb-storage.ko\nfind-exit=0\n",
        "modules-loaded": "ext4 1015808 1 - Live 0x0000000000000000\nusb_storage 65536 0 - Live 0x0\n",
        "mounts": "/dev/vda / ext4 rw,relatime 0 0\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n/dev/x /mnt\\040point ext4 ro 0 0\n",
        "sockets": """
        == tcp
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17455 1
        == tcp6
           0: 00000000000000000000000001000000:0CEA 00000000000000000000000000000000:0000 0A 00000000:00000000
        == udp
          12: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 16001 2
        == udp6 absent

        """,
        "failed-units": "ssh.service loaded failed failed OpenBSD Secure Shell server\n",
        "system-state": "running\n",
        "command:awk PASS_MAX_DAYS": "99999\n",
        "command:ls keys": "",
        "command:uptime": "up 3 min\n",
        "timezone": "localtime=/usr/share/zoneinfo/Etc/UTC\ntimezone=Etc/UTC\n",
        "journald-conf":
            "\u{1}file /etc/systemd/journald.conf\n[Journal]\nCompress=yes\n\u{1}file /etc/systemd/journald.conf.d/60.conf\n[Journal]\nForwardToSyslog=no\n",
        "pwquality":
            "\u{1}file /etc/security/pwquality.conf\nminlen = 14\n\u{1}file /etc/pam.d/common-password\npassword requisite pam_pwquality.so retry=3\n",
        "shell-session":
            "\u{1}file /etc/pam.d/sshd\n@include common-session\n\u{1}file /etc/pam.d/common-session\nsession optional pam_umask.so\n\u{1}file /etc/login.defs\nUMASK 027\n\u{1}file /etc/profile.d/t.sh\nreadonly TMOUT=900; export TMOUT\numask 027\n",
        "pam-module:pam_faillock":
            "\u{1}file /etc/security/faillock.conf\ndeny = 5\n\u{1}file /etc/pam.d/common-account\naccount required pam_faillock.so\n\u{1}file /etc/pam.d/common-auth\nauth required pam_faillock.so preauth\nauth [default=die] pam_faillock.so authfail deny=4\n",
        "pam-module:pam_pwhistory": "\u{1}file /etc/pam.d/common-password\npassword required pam_pwhistory.so remember=24 use_authtok\n",
        "timesyncd-conf":
            "\u{1}file /etc/systemd/timesyncd.conf\n[Time]\nNTP=a b\n\u{1}file /etc/systemd/timesyncd.conf.d/60.conf\n[Time]\nNTP=\nFallbackNTP=c\n",
        "log-files:/var/log": "640 root adm /var/log/syslog\0664 root utmp /var/log/wtmp\0644 root root /var/log/a b\0",
        "root-path": "path=/usr/sbin::/usr/bin:.\ndir 755 root /usr/sbin\ndir 1777 root /usr/bin\nnotdir .\n",
        "package-provides": "inetutils-telnetd\tii \ttelnet-server\nopenssh-server\tii \tssh-server\n",
    ]

    /// Pieces that the parsers split on or look for, and numbers at the edges.
    static let tokens = [
        ":", "::", "\n", "\n\n", "\0", "|", "=", " ", "\t", "\r\n", "\\", "\\040", "\\777", "==> ", " <==", "== tcp\n", "== tcp6 absent\n",
        "== udp6\n", "== \n", "0A", "07", "123456:0017", "1:", "0100007F:0019", "FFFFFFFF", "-", "+", "-1", "00", "99999999999999999999999",
        "9223372036854775808", "ii ", "rc ", "\t", "end\0", "setid ", "unowned ", "world-writable ", "truncated:", "modprobe-exit=",
        "insmod ", "install ", "find-exit=0", "builtin=yes", "modules=none", "modprobe=absent", "kernel=", "file=", "enabled=", "active=",
        "enabled", "active", "UnitFileState=", "ActiveState=", "é", "\u{FFFD}", "🙂", "e\u{301}", "1:2.3-4~", "inf", "nan", "0x1p3", "#",
        "+::::::", "root:x:0:0:root:/root:/bin/sh\n", "port 22", "maxauthtries", "/usr/bin/passwd", "/tmp", " / ", "nodev,nosuid",
        "localtime=", "timezone=", "zoneinfo/", "file", "absent",
        "\u{1}file ", "[Journal]", "pam_faillock.so", "preauth", "authfail", "conf=", "deny=", "@include ", "pam_umask.so", "umask=",
        "readonly ", "TMOUT=", "umask ", ", ", " (= 1)", "[Time]", "NTP=", "FallbackNTP=", "allowgroups ", "777 ", "/var/log/",
    ]

    static let exitCodes: [Int32] = [0, 0, 0, 0, 1, 2, 3, 127, 255, -1, Int32.min, Int32.max]

    static let tokenBytes = tokens.map { Array($0.utf8) }

    /// Random pieces and tokens, as bytes (so broken UTF-8 occurs too, as in a guest's output).
    static func randomText(_ generator: inout SeededGenerator) -> String {
        var bytes: [UInt8] = []
        for _ in 0..<Int.random(in: 0...12, using: &generator) {
            if Bool.random(using: &generator) {
                bytes += tokenBytes[Int.random(in: 0..<tokenBytes.count, using: &generator)]
            } else {
                for _ in 0..<Int.random(in: 1...8, using: &generator) { bytes.append(UInt8.random(in: 0...0xFF, using: &generator)) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A seed with a few edits: a token inserted, a range dropped or doubled, a byte replaced,
    /// lines swapped, the end cut off.
    static func mutate(_ seed: String, _ generator: inout SeededGenerator) -> String {
        var bytes = Array(seed.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = Int.random(in: 0...bytes.count, using: &generator)
            switch Int.random(in: 0..<6, using: &generator) {
            case 0:
                bytes.insert(contentsOf: tokenBytes[Int.random(in: 0..<tokenBytes.count, using: &generator)], at: position)
            case 1 where position < bytes.count:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...10, using: &generator)))
            case 2 where position < bytes.count:
                let slice = bytes[position..<min(bytes.count, position + Int.random(in: 1...20, using: &generator))]
                bytes.insert(contentsOf: Array(slice), at: position)
            case 3 where position < bytes.count:
                bytes[position] = UInt8.random(in: 0...0xFF, using: &generator)
            case 4:
                var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                if lines.count > 1 {
                    lines.swapAt(Int.random(in: 0..<lines.count, using: &generator), Int.random(in: 0..<lines.count, using: &generator))
                }
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            default:
                bytes.removeSubrange(position...)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Texts for one probe: its seed mutated, or random text.
    static func texts(for seed: String, count: Int, _ generator: inout SeededGenerator) -> [String] {
        (0..<count).map { _ in Bool.random(using: &generator) ? mutate(seed, &generator) : randomText(&generator) }
    }

    /// Each fact set draws every probe's output (or its absence), exit code and stderr at random,
    /// from texts made once per probe: building text costs more than evaluating it in a debug build.
    static func factSet(_ pools: [ProbeKey: [String]], _ generator: inout SeededGenerator) -> Facts {
        var probes: [ProbeKey: ProbeOutput] = [:]
        for (key, pool) in pools where Int.random(in: 0..<10, using: &generator) != 0 {
            let stdout = pool[Int.random(in: 0..<pool.count, using: &generator)]
            let stderr = Int.random(in: 0..<4, using: &generator) == 0 ? stderrs[Int.random(in: 0..<stderrs.count, using: &generator)] : ""
            probes[key] = ProbeOutput(
                exitCode: exitCodes[Int.random(in: 0..<exitCodes.count, using: &generator)], stdout: stdout, stderr: stderr)
        }
        let reboot: RebootFact? =
            Bool.random(using: &generator)
            ? nil
            : RebootFact(
                bootIDBefore: "a", bootIDAfter: [nil, "a", "b", ""][Int.random(in: 0..<4, using: &generator)],
                secondsToReturn: [nil, .nan, -1, 1e300, 2.5][Int.random(in: 0..<5, using: &generator)],
                failure: Int.random(in: 0..<4, using: &generator) == 0 ? "did not come back" : nil)
        let sources: [FactSource?] = [nil, .guest, .rootfs, .image]
        var facts = Facts(probes: probes, reboot: reboot, source: sources[Int.random(in: 0..<sources.count, using: &generator)])
        let seconds: [Double?] = [nil, .nan, -1, .infinity, 1e300, 2.5]
        func any() -> Double? { seconds[Int.random(in: 0..<seconds.count, using: &generator)] }
        if Bool.random(using: &generator) {
            facts.bootTimes = (0..<Int.random(in: 0..<3, using: &generator)).map { _ in
                BootTimeFact(
                    boot: "boot", agentSeconds: any(), settledSeconds: any(), kernelSeconds: any(), userspaceSeconds: any(),
                    scale: any() ?? 0, accelerator: "tcg", slowestUnit: Bool.random(using: &generator) ? nil : "\0é.service")
            }
        }
        return facts
    }

    static let stderrs = [
        "stat: cannot statx '/etc/hosts.equiv': No such file or directory\n", "truncated: /etc/ssh/sshd_config has 9 bytes\n",
        "No such file or directory", "find: '/x': Input/output error\n", "\0\n", "é",
    ]

    @Test func everyResourceEvaluatesRandomAndMutatedFactsWithoutTrapping() {
        // Every resource is covered.
        let kinds = Set(Self.checks.map(\.kind))
        #expect(kinds.count == ResourceKind.allCases.count, "\(kinds.sorted())")
        for probe in Collector.probes(for: Self.controls) where probe.key != Facts.systemStateKey {
            #expect(Self.seeds[probe.key] != nil, "no seed for \(probe.key)")
        }

        var generator = SeededGenerator(state: 0x4841_4C4C_4D41_524B)
        var pools: [ProbeKey: [String]] = [:]
        for (key, seed) in Self.seeds.sorted(by: { $0.key < $1.key }) { pools[key] = Self.texts(for: seed, count: 400, &generator) }
        let policy = policy(Self.controls)
        var seen: [ResultStatus: Int] = [:]
        for iteration in 0..<Self.iterations {
            let facts = Self.factSet(pools, &generator)
            // Every resource's evaluator on every set; every tenth set also as whole controls
            // (only_if, sources, severity, the gate).
            for check in Self.checks { seen[Evaluator.evaluate(check, facts: facts).status, default: 0] += 1 }
            if iteration % 10 == 0 {
                let results = Evaluator.evaluate(policy, facts: facts)
                for result in results { seen[result.status, default: 0] += 1 }
                _ = Gate.verdict(results, threshold: .low)
            }
        }
        #expect(seen.values.reduce(0, +) == Self.iterations * Self.checks.count + Self.iterations / 10 * Self.controls.count)
        // The sets reach past the first guard: every outcome occurs.
        for status in [ResultStatus.pass, .fail, .error, .notapplicable, .notchecked] {
            #expect(seen[status, default: 0] > 0, "\(status) never occurred")
        }
    }

    @Test func theCollectorOutputParserTakesAnyText() {
        var generator = SeededGenerator(state: 0x4652_414D_4553)
        let probes = Collector.probes(for: Self.controls)
        let plan = CollectorPlan(probes: probes, boundary: "B")
        // A well-formed output to mutate: one frame pair per section.
        var genuine = ""
        for index in 0..<plan.sections.count {
            genuine += "B \(index) out\nActiveState=active\nUnitFileState=enabled\n\nB \(index) end 0\nB \(index) err\n\nB \(index) end\n"
        }
        for _ in 0..<(Self.iterations / 10) {
            let output = Bool.random(using: &generator) ? Self.mutate(genuine, &generator) : "B 0 out\n" + Self.randomText(&generator)
            if let parsed = try? plan.parse(output) {
                _ = Evaluator.evaluate(policy(Self.controls), facts: Facts(probes: parsed))
            }
        }
    }
}
