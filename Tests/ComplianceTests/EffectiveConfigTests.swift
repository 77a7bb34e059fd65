import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Compliance

/// The readers of effective configuration (journald, pwquality, an SSH session's shell files,
/// virtual packages) on the files Debian 12 ships (Tests/Fixtures/debian12-etc), changed the way an
/// image's components change them.
@Suite struct EffectiveConfigTests {
    static func debian(_ name: String) throws -> String {
        try String(contentsOfFile: Repository.fixture("debian12-etc/" + name), encoding: .utf8)
    }

    /// What ConfigFiles.script prints for these files, in this order.
    static func dump(_ files: [(String, String)]) -> String {
        files.map { path, content in "\u{1}file \(path)\n" + content + (content.hasSuffix("\n") || content.isEmpty ? "" : "\n") }.joined()
    }

    static func evaluate(_ check: Check, _ key: ProbeKey, _ stdout: String, exitCode: Int32 = 0) -> ControlResult {
        Evaluator.evaluate(policy([control("c", check)]), facts: facts([key: (exitCode, stdout)]))[0]
    }

    // MARK: the probe script

    @Test func theScriptPrintsEveryExistingFileAfterItsMarker() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let first = try scratch.write("a.conf", "[Journal]\nStorage=persistent\n")
        let second = try scratch.write("b.conf", "no newline at the end")
        let script = ConfigFiles.script([first, scratch.path + "/missing.conf", scratch.path + "/b*.conf"])
        let parsed = try #require(ConfigFiles(try await HostCommand("/bin/sh", ["-c", script]).output()))
        #expect(parsed.files.map(\.path) == [first, second])
        #expect(parsed.files[0].lines.prefix(2) == ["[Journal]", "Storage=persistent"])
        #expect(parsed.files[1].lines.first == "no newline at the end")
    }

    // MARK: journald

    static let journaldFile = "/etc/systemd/journald.conf"

    @Test func debiansDefaultForwardsToSyslog() throws {
        let noForward = Check(JournaldCheck(setting: "ForwardToSyslog", value: .equals("no")))
        let shipped = Self.dump([(Self.journaldFile, try Self.debian("systemd/journald.conf"))])
        let result = Self.evaluate(noForward, "journald-conf", shipped)
        #expect(result.status == .fail, "\(result.message)")
        #expect(result.message.contains("'yes' (the default)"), "\(result.message)")
    }

    @Test(arguments: [
        // A drop-in in /etc sets it; a same-named file in /usr/lib is hidden by it.
        (
            [
                ("/etc/systemd/journald.conf.d/60-cis.conf", "[Journal]\nForwardToSyslog=no\n"),
                ("/usr/lib/systemd/journald.conf.d/60-cis.conf", "[Journal]\nForwardToSyslog=yes\n"),
            ], ResultStatus.pass
        ),
        // Drop-ins apply in name order across directories: 70 in /usr/lib comes after 60 in /etc.
        (
            [
                ("/etc/systemd/journald.conf.d/60-cis.conf", "[Journal]\nForwardToSyslog=no\n"),
                ("/usr/lib/systemd/journald.conf.d/70-vendor.conf", "[Journal]\nForwardToSyslog=true\n"),
            ], .fail
        ),
        // Outside [Journal] it is not a journald setting; an unparsable value is ignored.
        ([("/etc/systemd/journald.conf.d/60-cis.conf", "[Other]\nForwardToSyslog=no\n[Journal]\nForwardToSyslog=maybe\n")], .fail),
        ([("/etc/systemd/journald.conf.d/60-cis.conf", "[Journal]\nForwardToSyslog = off\n")], .pass),
        // An empty assignment resets to Debian's default.
        ([("/etc/systemd/journald.conf.d/60-cis.conf", "[Journal]\nForwardToSyslog=no\nForwardToSyslog=\n")], .fail),
    ])
    func dropInsApplyInJournaldsOrder(dropIns: [(String, String)], expected: ResultStatus) throws {
        let noForward = Check(JournaldCheck(setting: "ForwardToSyslog", value: .equals("no")))
        let stdout = Self.dump([(Self.journaldFile, try Self.debian("systemd/journald.conf"))] + dropIns)
        let result = Self.evaluate(noForward, "journald-conf", stdout)
        #expect(result.status == expected, "\(result.message)")
    }

    @Test func compressMustBeWrittenOutWhenExplicit() throws {
        let compress = Check(JournaldCheck(setting: "Compress", value: .equals("yes"), explicit: true))
        let shipped = try Self.debian("systemd/journald.conf")
        let unset = Self.evaluate(compress, "journald-conf", Self.dump([(Self.journaldFile, shipped)]))
        #expect(unset.status == .fail && unset.message.contains("must be set explicitly"), "\(unset.message)")
        let set = Self.evaluate(
            compress, "journald-conf",
            Self.dump([(Self.journaldFile, shipped.replacingOccurrences(of: "#Compress=yes", with: "Compress=yes"))]))
        #expect(set.status == .pass, "\(set.message)")
        // A size threshold turns compression on.
        let sized = Self.evaluate(compress, "journald-conf", Self.dump([(Self.journaldFile, "[Journal]\nCompress=64K\n")]))
        #expect(sized.status == .pass, "\(sized.message)")
        let off = Self.evaluate(compress, "journald-conf", Self.dump([(Self.journaldFile, "[Journal]\nCompress=no\n")]))
        #expect(off.status == .fail, "\(off.message)")
    }

    @Test func unreadableOrForeignOutputIsAnError() {
        let check = Check(JournaldCheck(setting: "Storage", value: .equals("persistent")))
        #expect(Self.evaluate(check, "journald-conf", "", exitCode: 1).status == .error)
        #expect(Self.evaluate(check, "journald-conf", "Storage=persistent\n").status == .error)
    }

    // MARK: pwquality

    /// common-password as pam-auth-update writes it once libpam-pwquality is installed.
    static func commonPasswordWithPwquality() throws -> String {
        try debian("pam.d/common-password").replacingOccurrences(
            of: "password\t[success=1 default=ignore]\tpam_unix.so obscure yescrypt",
            with:
                "password\trequisite\t\t\tpam_pwquality.so retry=3\npassword\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt"
        )
    }

    @Test func pwqualityWithoutTheModuleAppliesNothing() throws {
        let minlen = Check(PwqualityCheck(setting: "minlen", value: .compare(.ge, 14)))
        let stdout = Self.dump([
            ("/etc/security/pwquality.conf", "minlen = 14\n"), ("/etc/pam.d/common-password", try Self.debian("pam.d/common-password")),
        ])
        let result = Self.evaluate(minlen, "pwquality", stdout)
        #expect(result.status == .fail && result.message.contains("pam_pwquality is not in"), "\(result.message)")
    }

    @Test(arguments: [
        // Debian's pwquality.conf sets nothing: libpwquality's default of 8 applies.
        ("minlen", [String](), ResultStatus.fail, "'8' (the default)"),
        ("minlen", ["/etc/security/pwquality.conf.d/50-cis.conf=minlen = 14"], .pass, "50-cis.conf:1"),
        // The main file is read after the drop-ins and wins.
        ("minlen", ["/etc/security/pwquality.conf.d/50-cis.conf=minlen = 14", "main=minlen = 9"], .fail, "pwquality.conf:"),
        // A later drop-in wins over an earlier one.
        (
            "minclass", ["/etc/security/pwquality.conf.d/10-a.conf=minclass = 4", "/etc/security/pwquality.conf.d/90-b.conf=minclass = 2"],
            .fail, "90-b.conf"
        ),
        ("dictcheck", [String](), .pass, "dictcheck=1 (the default)"),
        ("enforce_for_root", ["/etc/security/pwquality.conf.d/50-cis.conf=enforce_for_root"], .pass, "50-cis.conf:1"),
        // pam_pwquality's arguments override every file.
        ("minlen", ["/etc/security/pwquality.conf.d/50-cis.conf=minlen = 14", "pam=minlen=6"], .fail, "pam_pwquality argument"),
    ])
    func pwqualityReadsFilesInLibpwqualitysOrder(setting: String, changes: [String], expected: ResultStatus, fragment: String) throws {
        let matcher: Matcher =
            switch setting {
            case "minlen": .compare(.ge, 14)
            case "minclass": .compare(.ge, 4)
            case "dictcheck": .not("0")
            default: .equals("yes")
            }
        var main = try Self.debian("security/pwquality.conf")
        var pam = try Self.commonPasswordWithPwquality()
        var dropIns: [(String, String)] = []
        for change in changes {
            let (path, line) = (String(change.prefix { $0 != "=" }), String(change.drop { $0 != "=" }.dropFirst()))
            switch path {
            case "main": main += line + "\n"
            case "pam": pam = pam.replacingOccurrences(of: "pam_pwquality.so retry=3", with: "pam_pwquality.so retry=3 " + line)
            default: dropIns.append((path, line + "\n"))
            }
        }
        let stdout = Self.dump(dropIns + [("/etc/security/pwquality.conf", main), ("/etc/pam.d/common-password", pam)])
        let result = Self.evaluate(Check(PwqualityCheck(setting: setting, value: matcher)), "pwquality", stdout)
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    // MARK: shell session: TMOUT

    static func session(_ extra: [(String, String)] = [], pamSshd: String? = nil, commonSession: String? = nil, loginDefs: String? = nil)
        throws -> String
    {
        dump(
            [
                ("/etc/pam.d/sshd", try pamSshd ?? debian("pam.d/sshd")),
                ("/etc/pam.d/common-session", try commonSession ?? debian("pam.d/common-session")),
                ("/etc/login.defs", try loginDefs ?? debian("login.defs")), ("/etc/profile", try debian("profile")),
                ("/etc/bash.bashrc", try debian("bash.bashrc")),
            ] + extra)
    }

    @Test(arguments: [
        ([String](), ResultStatus.fail, "TMOUT is not set"),
        (["TMOUT=900"], .fail, "not readonly"),
        (["readonly TMOUT=900"], .fail, "not exported"),
        (["readonly TMOUT=900", "export TMOUT"], .pass, "TMOUT=900"),
        (["typeset -xr TMOUT=600"], .pass, "TMOUT=600"),
        (["readonly TMOUT=\"900\" ; export TMOUT"], .pass, "TMOUT=900"),
        (["export TMOUT=1800", "readonly TMOUT"], .fail, "TMOUT is 1800"),
        // Once readonly, a later assignment fails in the shell and does not count.
        (["readonly TMOUT=900", "export TMOUT", "TMOUT=0"], .pass, "TMOUT=900"),
        (["readonly TMOUT=0", "export TMOUT"], .fail, "no timeout"),
        (["# readonly TMOUT=900", "# export TMOUT"], .fail, "TMOUT is not set"),
    ])
    func tmoutMustBeBoundedReadonlyAndExported(lines: [String], expected: ResultStatus, fragment: String) throws {
        let stdout = try Self.session([("/etc/profile.d/60-tmout.sh", lines.joined(separator: "\n"))])
        let result = Self.evaluate(Check(ShellSessionCheck(.timeout(.compare(.le, 900)))), "shell-session", stdout)
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    // MARK: shell session: umask

    static let umask027 = Check(ShellSessionCheck(.umask(0o027)))

    @Test func loginDefsAloneDoesNotReachSSHSessions() throws {
        let defs = try Self.debian("login.defs").replacingOccurrences(of: "UMASK\t\t022", with: "UMASK\t\t027")
        let result = Self.evaluate(Self.umask027, "shell-session", try Self.session(loginDefs: defs))
        #expect(result.status == .fail, "\(result.message)")
        #expect(result.message.contains("022 (sshd's default)"), "\(result.message)")
    }

    @Test func pamUmaskAppliesLoginDefsToSSHSessions() throws {
        let defs = try Self.debian("login.defs").replacingOccurrences(of: "UMASK\t\t022", with: "UMASK\t\t027")
        let common = try Self.debian("pam.d/common-session") + "session optional\t\t\tpam_umask.so\n"
        let result = Self.evaluate(Self.umask027, "shell-session", try Self.session(commonSession: common, loginDefs: defs))
        #expect(result.status == .pass, "\(result.message)")
        #expect(result.message.contains("UMASK in /etc/login.defs, applied by pam_umask"), "\(result.message)")
        // Debian's login.defs enables user private groups, which pam_umask honours.
        #expect(result.message.contains("USERGROUPS_ENAB"), "\(result.message)")
        // pam_umask's own argument wins over login.defs.
        let loose = Self.evaluate(
            Self.umask027, "shell-session",
            try Self.session(
                commonSession: common.replacingOccurrences(of: "pam_umask.so", with: "pam_umask.so umask=0022"), loginDefs: defs))
        #expect(loose.status == .fail, "\(loose.message)")
    }

    @Test(arguments: [
        (["umask 027"], ResultStatus.pass),
        (["umask 077"], .pass),
        (["umask 027", "umask 002"], .fail),
        (["if [ \"$(id -u)\" -ne 0 ]; then umask 0027; fi"], .pass),
    ])
    func profileFilesSetTheSessionUmask(lines: [String], expected: ResultStatus) throws {
        let stdout = try Self.session([("/etc/profile.d/50-umask.sh", lines.joined(separator: "\n"))])
        let result = Self.evaluate(Self.umask027, "shell-session", stdout)
        #expect(result.status == expected, "\(result.message)")
    }

    @Test func aSymbolicUmaskIsAnErrorNotAGuess() throws {
        let stdout = try Self.session([("/etc/profile.d/50-umask.sh", "umask u=rwx,g=rx,o=")])
        #expect(Self.evaluate(Self.umask027, "shell-session", stdout).status == .error)
    }

    // MARK: virtual packages

    /// dpkg-query lines as bookworm's packages give them (inetutils-telnetd provides telnet-server).
    static let providers = """
        inetutils-telnetd\tii \ttelnet-server
        exim4-daemon-light\tii \tmail-transport-agent
        telnetd\tun \t
        openssh-server\tii \tssh-server
        """

    @Test(arguments: [
        ("telnet-server", false, ResultStatus.fail, "inetutils-telnetd provides telnet-server"),
        ("rsh-server", false, .pass, "no installed package provides rsh-server"),
        ("mail-transport-agent", true, .pass, "provided by exim4-daemon-light"),
        // A package is its own provider too.
        ("openssh-server", true, .pass, "provided by openssh-server"),
        ("telnetd", true, .fail, "no installed package is or provides telnetd"),
    ])
    func familiesAreMatchedByWhatPackagesProvide(name: String, installed: Bool, expected: ResultStatus, fragment: String) {
        var check = PackageCheck(name: name, installed: installed)
        check.provided = true
        let result = Self.evaluate(Check(check), "package-provides", Self.providers + "\n")
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test func policiesWriteTheNewResources() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let path = try scratch.write(
            "p.yaml",
            """
            id: p
            title: P
            controls:
              - {id: a, title: A, severity: low, rationale: r, remediation: m, check: {journald: {setting: Compress, value: "yes", explicit: true}}}
              - {id: b, title: B, severity: low, rationale: r, remediation: m, check: {pwquality: {setting: minlen, value: {ge: 14}}}}
              - {id: c, title: C, severity: low, rationale: r, remediation: m, check: {shell_session: {umask: "027"}}}
              - {id: d, title: D, severity: low, rationale: r, remediation: m, check: {shell_session: {tmout: {le: 900}}}}
              - {id: e, title: E, severity: low, rationale: r, remediation: m, check: {package: {provides: telnet-server, installed: false}}}

            """)
        let loaded = try Policy.load(path: path)
        #expect(loaded.controls.count == 5)
        let probes = Collector.probes(for: loaded.controls, source: .rootfs).map(\.key).sorted()
        #expect(probes == ["journald-conf", "package-provides", "pwquality", "shell-session"])
    }

    @Test(arguments: [
        "{pwquality: {setting: minlength, value: \"14\"}}", "{shell_session: {umask: \"0x27\"}}", "{shell_session: {}}",
        "{package: {provides: telnet-server, name: telnetd}}", "{journald: {setting: \"Forward To\", value: \"no\"}}",
    ])
    func mistakesAreRejectedWithTheirPlace(check: String) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let path = try scratch.write(
            "p.yaml", "id: p\ntitle: P\ncontrols:\n  - {id: a, title: A, severity: low, rationale: r, remediation: m, check: \(check)}\n")
        #expect(throws: HallmarkError.self) { try Policy.load(path: path) }
    }
}
