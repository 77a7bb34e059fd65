import Foundation
import HallmarkSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

func status(_ check: Check, _ observed: Facts, severity: Severity = .high, onlyIf: Check? = nil) -> ControlResult {
    var ctl = control("c", check, severity: severity)
    ctl.onlyIf = onlyIf
    return Evaluator.evaluate(policy([ctl]), facts: observed)[0]
}

@Suite struct ResourceTests {
    // MARK: kernel_module

    static let notLoaded = "ext4 1015808 1 - Live 0x0000000000000000\nvirtio_net 65536 0 - Live 0x0000000000000000\n"

    @Test(arguments: [
        ("kernel=6.1.0-28-amd64\ninstall /bin/false \nmodprobe-exit=0\n", ResultStatus.pass, "install /bin/false"),
        ("kernel=6.1.0-28-amd64\ninstall /usr/bin/true\nmodprobe-exit=0\n", .pass, "install /usr/bin/true"),
        (
            "kernel=6.1.0-28-amd64\ninsmod /lib/modules/6.1.0-28-amd64/kernel/lib/crc.ko \ninsmod /lib/modules/6.1.0-28-amd64/kernel/fs/cramfs/cramfs.ko \nmodprobe-exit=0\n",
            .fail, "cramfs.ko"
        ),
        (
            "kernel=6.1.0-28-amd64\nmodprobe: FATAL: Module cramfs not found in directory /lib/modules/6.1.0-28-amd64\nmodprobe-exit=1\n",
            .pass, "no module cramfs"
        ),
        ("kernel=6.1.0-28-amd64\nbuiltin=yes\nmodprobe-exit=0\n", .fail, "built into kernel"),
        ("kernel=6.1.0-28-amd64\ninstall /sbin/modprobe --ignore-install cramfs\nmodprobe-exit=0\n", .fail, "install command"),
        ("modules=none\n", .pass, "no kernel modules"),
        (
            "kernel=6.1.0-28-amd64\nmodprobe=absent\nfile=/lib/modules/6.1.0-28-amd64/kernel/fs/cramfs/cramfs.ko\n", .fail,
            "modprobe is absent"
        ),
        ("kernel=6.1.0-28-amd64\nmodprobe=absent\nfind-exit=0\n", .pass, "modprobe is absent"),
        ("kernel=6.1.0-28-amd64\nmodprobe=absent\nfind-exit=1\n", .error, "cannot tell"),
        ("kernel=6.1.0-28-amd64\nmodprobe=absent\n", .error, "cannot tell"),
        ("kernel=6.1.0-28-amd64\nmodprobe-exit=1\n", .error, "cannot tell"),
    ])
    func kernelModuleNotLoadable(modprobe: String, expected: ResultStatus, fragment: String) {
        let result = status(
            Check(KernelModuleCheck(name: "cramfs", loadable: false)),
            facts(["kernel-module:cramfs": (0, modprobe), "modules-loaded": (0, Self.notLoaded)]))
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment) || result.evidence.contains(fragment), "\(result.message)")
    }

    @Test func aLoadedModuleFailsEvenWhenBlacklistedNow() {
        let check = Check(KernelModuleCheck(name: "usb-storage", loadable: false))
        let loaded = "usb_storage 81920 0 - Live 0x0000000000000000\n"
        let result = status(
            check,
            facts(["kernel-module:usb-storage": (0, "kernel=6.1\ninstall /bin/false\nmodprobe-exit=0\n"), "modules-loaded": (0, loaded)]))
        #expect(result.status == .fail)
        #expect(result.message.contains("usb-storage is loaded right now"))
        let onlyLoaded = status(
            Check(KernelModuleCheck(name: "usb-storage", loaded: false)), facts(["modules-loaded": (0, Self.notLoaded)]))
        #expect(onlyLoaded.status == .pass)
    }

    @Test func aRootFilesystemChecksOnlyWhetherTheModuleCanBeLoaded() {
        var observed = facts(["kernel-module:cramfs": (0, "kernel=6.1\ninstall /bin/false\nmodprobe-exit=0\n")])
        observed.source = .rootfs
        let result = status(Check(KernelModuleCheck(name: "cramfs", loadable: false)), observed)
        #expect(result.status == .pass)
        #expect(result.message.contains("not observable in a root filesystem"))
        let runtimeOnly = status(Check(KernelModuleCheck(name: "cramfs", loaded: false)), observed)
        #expect(runtimeOnly.status == .notchecked)
    }

    // MARK: mount

    static let mounts = """
        /dev/vda1 / ext4 rw,relatime,errors=remount-ro 0 0
        proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
        tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0
        tmpfs /tmp tmpfs rw,nosuid,nodev,relatime 0 0
        tmpfs /tmp tmpfs rw,nosuid,nodev,noexec,relatime 0 0
        /dev/vdb1 /srv/my\\040data ext4 rw,nodev 0 0

        """

    @Test(arguments: [
        ("/tmp", ["nodev", "nosuid", "noexec"], ResultStatus.pass, "mounted with nodev,nosuid,noexec"),  // the last mount on /tmp wins
        ("/dev/shm", ["nodev", "nosuid"], .pass, "/dev/shm is mounted with"),
        ("/dev/shm", ["nodev", "noexec"], .fail, "/dev/shm is mounted without noexec"),
        ("/var/tmp", ["nodev"], .fail, "/var/tmp is not a separate mount"),
        ("/var/tmp/", [], .fail, "/var/tmp is not a separate mount"),
        ("/srv/my data", ["nodev"], .pass, "mounted with nodev"),
        ("/", [], .pass, "/ is a separate mount"),
    ])
    func mountOptions(path: String, options: [String], expected: ResultStatus, message: String) {
        let result = status(Check(MountCheck(path: path, options: options)), facts(["mounts": (0, Self.mounts)]))
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(message), "\(result.message)")
    }

    @Test func onlyIfMakesAMissingMountNotApplicable() {
        let observed = facts(["mounts": (0, "/dev/vda1 / ext4 rw 0 0\n")])
        let result = status(Check(MountCheck(path: "/tmp", options: ["nodev"])), observed, onlyIf: Check(MountCheck(path: "/tmp")))
        #expect(result.status == .notapplicable)
        #expect(result.message.contains("only_if does not hold (/tmp is not a separate mount)"))
        let holds = status(Check(MountCheck(path: "/", options: ["nodev"])), observed, onlyIf: Check(MountCheck(path: "/")))
        #expect(holds.status == .fail)
        let unknown = status(Check(MountCheck(path: "/tmp")), Facts(), onlyIf: Check(PackageCheck(name: "x")))
        #expect(unknown.status == .notchecked)
    }

    // MARK: port

    static let sockets = """
        == tcp
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17455 1 0000000000000000 100 0 0 10 0
           1: 0100007F:0019 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 17456 1 0000000000000000 100 0 0 10 0
           2: 0F02000A:0016 0202000A:D4C2 01 00000000:00000000 02:00094DBF 00000000     0        0 18532 2 0000000000000000 20 4 1 10 -1
        == tcp6
          sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
           0: 00000000000000000000000001000000:0CEA 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20001 1 0000000000000000 100 0 0 10 0
        == udp
          sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
          12: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 16001 2 0000000000000000 0
          13: 0F02000A:A1B2 08080808:0035 01 00000000:00000000 00:00000000 00000000     0        0 16002 2 0000000000000000 0
        == udp6 absent

        """

    @Test(arguments: [
        (22, PortCheck.TransportProtocol.tcp, false, ResultStatus.fail, "tcp/22 is listening on 0.0.0.0"),
        (22, .tcp, true, .pass, "tcp/22 is listening"),
        (25, .tcp, false, .fail, "127.0.0.1"),
        (3306, .tcp, false, .fail, "[0:0:0:0:0:0:0:1]"),
        (23, .tcp, false, .pass, "nothing listens on tcp/23"),
        (68, .udp, true, .pass, "udp/68 is listening"),
        (53, .udp, false, .pass, "nothing listens on udp/53"),  // a connected socket to :53 is not a listener
        (54706, .tcp, false, .pass, "nothing listens"),  // an established connection's local port is not a listener
    ])
    func ports(port: Int, proto: PortCheck.TransportProtocol, listening: Bool, expected: ResultStatus, fragment: String) {
        let result = status(Check(PortCheck(port: port, protocol: proto, listening: listening)), facts(["sockets": (0, Self.sockets)]))
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test func decodesProcNetAddresses() {
        #expect(PortCheck.decodeAddress("0100007F") == "127.0.0.1")
        #expect(PortCheck.decodeAddress("0F02000A") == "10.0.2.15")
        #expect(PortCheck.decodeAddress("00000000000000000000000000000000") == "[::]")
        #expect(PortCheck.decodeAddress("B80D0120000000000000000001000000") == "[2001:db8:0:0:0:0:0:1]")
    }

    // MARK: find

    @Test func findUnownedAndSuidAllowList() {
        let check = Check(FindCheck(paths: ["/"], unowned: false, suidAllowed: ["/usr/bin/su", "/usr/bin/passwd"]))
        let clean = facts(["find:/": (0, "setid /usr/bin/su\0setid /usr/bin/passwd\0end\0")])
        #expect(status(check, clean).status == .pass)
        let dirty = facts(["find:/": (0, "unowned /opt/app/data\0setid /usr/bin/su\0setid /usr/local/bin/rootshell\0end\0")])
        let result = status(check, dirty)
        #expect(result.status == .fail)
        #expect(result.message.contains("1 file(s) without a known owner or group"))
        #expect(result.message.contains("not in the allow-list: /usr/local/bin/rootshell"))
        #expect(result.evidence.contains("/opt/app/data"))
        #expect(
            status(Check(FindCheck(paths: ["/etc"], worldWritable: false)), facts(["find:/etc": (0, "world-writable /etc/x\0end\0")]))
                .status == .fail)
    }

    // MARK: sysctl

    static let sysctlFiles = """
        ==> /etc/sysctl.d/50-default.conf
        # the admin's copy overrides /usr/lib/sysctl.d/50-default.conf
        net.ipv4.conf.all.rp_filter = 1
        ==> /etc/sysctl.d/99-hardening.conf
        kernel/randomize_va_space=2
        -net.ipv4.tcp_syncookies = 1
        ; comment
        ==> /usr/lib/sysctl.d/50-default.conf
        net.ipv4.conf.all.rp_filter = 2
        kernel.randomize_va_space = 0
        ==> /usr/lib/sysctl.d/10-early.conf
        net.ipv4.ip_forward = 1
        net.core.rmem = 4096	87380   6291456
        ==> /etc/sysctl.conf
        net.ipv4.ip_forward = 0

        """

    @Test(arguments: [
        ("net.ipv4.conf.all.rp_filter", "1", ResultStatus.pass, "/etc/sysctl.d/50-default.conf"),
        ("kernel.randomize_va_space", "2", .pass, "99-hardening.conf"),
        ("net.ipv4.tcp_syncookies", "1", .pass, "99-hardening.conf"),
        ("net.ipv4.ip_forward", "0", .pass, "/etc/sysctl.conf"),  // /etc/sysctl.conf is read last
        ("net.core.rmem", "4096 87380 6291456", .pass, "10-early.conf"),
        ("net.ipv4.conf.all.log_martians", "1", .fail, "not set"),
        ("net.ipv4.conf.all.rp_filter", "2", .fail, "expected a value that equals '2'"),
    ])
    func persistedSysctl(key: String, value: String, expected: ResultStatus, fragment: String) {
        let result = status(
            Check(SysctlCheck(key: key, value: .equals(value), persisted: true, live: false)),
            facts(["sysctl-config": (0, Self.sysctlFiles)]))
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment) || result.evidence.contains(fragment), "\(result.message) / \(result.evidence)")
    }

    @Test func liveAndPersistedMustBothHold() {
        let check = Check(SysctlCheck(key: "kernel.randomize_va_space", value: .equals("2"), persisted: true))
        #expect(
            status(check, facts(["sysctl-config": (0, Self.sysctlFiles), "sysctl:kernel.randomize_va_space": (0, "2\n")])).status == .pass)
        let live = status(check, facts(["sysctl-config": (0, Self.sysctlFiles), "sysctl:kernel.randomize_va_space": (0, "1\n")]))
        #expect(live.status == .fail)
        #expect(live.message.contains("kernel.randomize_va_space is 1"))
        #expect(status(check, Facts()).status == .notchecked)
    }

    // MARK: users, groups, accounts

    static let passwd = """
        root:x:0:0:root:/root:/bin/bash
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        alice:x:1000:1000::/home/alice:/bin/bash
        bob:x:1000:1001::/home/bob:/bin/bash
        oper:!:0:0::/root:/bin/sh
        ghost:x:1002:4242::/home/ghost:/bin/sh

        """
    static let group = "root:x:0:\ndaemon:x:1:\nshadow:x:42:alice\nalice:x:1000:\nbob:x:1001:\nalice:x:1003:\nstaff:x:1000:\n"

    @Test func users() {
        let observed = facts(["passwd": (0, Self.passwd)])
        #expect(status(Check(UserCheck(name: "root", uid: .equals("0"), shell: .matches("/bash$"))), observed).status == .pass)
        let alice = status(Check(UserCheck(name: "alice", uid: .compare(.lt, 1000), shell: .equals("/usr/sbin/nologin"))), observed)
        #expect(alice.status == .fail)
        #expect(alice.message.contains("uid is '1000'") && alice.message.contains("shell is '/bin/bash'"))
        #expect(status(Check(UserCheck(name: "games", exists: false)), observed).status == .pass)
        #expect(status(Check(UserCheck(name: "daemon", exists: false)), observed).status == .fail)
        #expect(status(Check(UserCheck(name: "nobody")), observed).status == .fail)
    }

    @Test func groups() {
        let observed = facts(["group": (0, Self.group)])
        let shadow = status(Check(GroupCheck(name: "shadow", members: .equals(""))), observed)
        #expect(shadow.status == .fail)
        #expect(shadow.message.contains("members are 'alice'"))
        #expect(status(Check(GroupCheck(name: "root", gid: .equals("0"), members: .equals(""))), observed).status == .pass)
        #expect(status(Check(GroupCheck(name: "wheel", exists: false)), observed).status == .pass)
    }

    @Test func accountUniquenessAndConsistency() {
        let observed = facts(["passwd": (0, Self.passwd), "group": (0, Self.group), "shadow-empty-passwords": (0, "")])
        let checks: [(AccountsCheck, ResultStatus, String)] = [
            (AccountsCheck(uniqueUIDs: true), .fail, "duplicate uids: 0 (root, oper); 1000 (alice, bob)"),
            (AccountsCheck(uniqueGIDs: true), .fail, "duplicate gids: 1000 (alice, staff)"),
            (AccountsCheck(uniqueGroupNames: true), .fail, "duplicate group names: alice (gid 1000, gid 1003)"),
            (AccountsCheck(uniqueUserNames: true), .pass, "duplicate user names: none"),
            (AccountsCheck(gidZero: ["root"]), .fail, "primary gid 0 is also held by: oper"),
            (AccountsCheck(shadowedPasswords: true), .fail, "passwords not in /etc/shadow: oper"),
            (AccountsCheck(groupsExist: true), .fail, "ghost (gid 4242)"),
            (AccountsCheck(noEmptyPasswords: true), .pass, "empty password fields: none"),
        ]
        for (check, expected, fragment) in checks {
            let result = status(Check(check), observed)
            #expect(result.status == expected, "\(check): \(result.message)")
            #expect(result.message.contains(fragment), "\(result.message)")
        }
        let onlyPasswd = facts(["passwd": (0, Self.passwd)])
        #expect(status(Check(AccountsCheck(uniqueGIDs: true)), onlyPasswd).status == .notchecked)
    }

    // MARK: packages, severities, commands

    @Test func packageVersionConstraints() throws {
        let observed = facts(["packages": (0, "openssh-server\tii \t1:9.2p1-2+deb12u3\nlibssl3\tii \t3.0.11-1~deb12u2\n")])
        let ok = status(Check(PackageCheck(name: "openssh-server", version: VersionConstraint(">= 1:9.2"))), observed)
        #expect(ok.status == .pass)
        #expect(ok.message.contains("satisfies >= 1:9.2"))
        let old = status(Check(PackageCheck(name: "libssl3", version: VersionConstraint(">= 3.0.15-1~deb12u1"))), observed)
        #expect(old.status == .fail)
        #expect(old.message == "libssl3 3.0.11-1~deb12u2 does not satisfy >= 3.0.15-1~deb12u1")
        #expect(status(Check(PackageCheck(name: "nginx", version: VersionConstraint(">= 1"))), observed).status == .fail)
    }

    @Test func infoSeverityFailuresAreInformational() {
        let result = status(Check(SysctlCheck(key: "k", value: .equals("1"))), facts(["sysctl:k": (0, "0\n")]), severity: .info)
        #expect(result.status == .informational)
        #expect(Gate.verdict([result], threshold: .info) == .pass)
        #expect(status(Check(SysctlCheck(key: "k", value: .equals("0"))), facts(["sysctl:k": (0, "0\n")]), severity: .info).status == .pass)
    }

    @Test func commandMatchersIncludingStderrAndNotMatches() {
        let check = Check(CommandCheck(run: "x", exitCode: 0, stdout: .notMatches("cbc"), stderr: .equals("")))
        #expect(status(check, facts(["command:x": (0, "aes128-ctr,aes256-gcm\n")])).status == .pass)
        #expect(status(check, facts(["command:x": (0, "aes128-cbc\n")])).status == .fail)
        let noisy = Facts(probes: ["command:x": ProbeOutput(exitCode: 0, stdout: "ok", stderr: "warning\n")])
        #expect(status(check, noisy).status == .fail)
    }

    @Test func runtimeChecksAreNotCheckedAgainstARootFilesystem() {
        var observed = facts(["packages": (0, "")])
        observed.source = .rootfs
        let result = status(Check(MountCheck(path: "/tmp")), observed)
        #expect(result.status == .notchecked)
        #expect(result.message.contains("runtime-only"))
        #expect(status(.reboot, observed).message.contains("runtime-only"))
        #expect(
            Collector.probes(
                for: [control("m", Check(MountCheck(path: "/tmp"))), control("p", Check(PackageCheck(name: "x")))], source: .rootfs
            )
            .map(\.key) == ["packages"])
    }
}
