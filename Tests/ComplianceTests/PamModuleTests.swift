import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Compliance

/// pam_faillock and pam_pwhistory settings on Debian 12's shipped PAM files
/// (Tests/Fixtures/debian12-etc), changed the way the cis-accounts-pam component changes them.
@Suite struct PamModuleTests {
    typealias Files = EffectiveConfigTests

    /// common-auth and common-account with pam_faillock's three lines, as cis-accounts-pam writes them.
    static func faillockStacks(authfail: String = "") throws -> [(String, String)] {
        let auth = try Files.debian("pam.d/common-auth").replacingOccurrences(
            of: "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n",
            with: """
                auth\trequired\t\t\tpam_faillock.so preauth
                auth\t[success=2 default=ignore]\tpam_unix.so
                auth\t[default=die]\t\t\tpam_faillock.so authfail\(authfail)

                """)
        let account = try Files.debian("pam.d/common-account") + "account\trequired\t\t\tpam_faillock.so\n"
        return [("/etc/pam.d/common-auth", auth), ("/etc/pam.d/common-account", account)]
    }

    static func faillock(_ setting: String, _ matcher: Matcher, conf: String = "", authfail: String = "", stacks: [(String, String)]? = nil)
        throws -> ControlResult
    {
        let files =
            [("/etc/security/faillock.conf", try Files.debian("security/faillock.conf") + conf)]
            + (try stacks ?? faillockStacks(authfail: authfail))
        let check = Check(PamModuleCheck(module: .faillock, setting: setting, value: matcher))
        return Files.evaluate(check, ProbeKey("pam-module", "pam_faillock"), Files.dump(files))
    }

    static let denyAtMostFive = Matcher.matches("^[1-5]$")
    static let unlockAfterFifteenMinutes = Matcher.matches("^(0|9[0-9]{2}|[1-9][0-9]{3,})$")

    @Test func debiansShippedStackHasNoFaillock() throws {
        let shipped = [
            ("/etc/pam.d/common-auth", try Files.debian("pam.d/common-auth")),
            ("/etc/pam.d/common-account", try Files.debian("pam.d/common-account")),
        ]
        let result = try Self.faillock("deny", Self.denyAtMostFive, stacks: shipped)
        #expect(result.status == .fail, "\(result.message)")
        #expect(result.message.contains("no 'auth pam_faillock.so preauth' line in /etc/pam.d/common-auth"), "\(result.message)")
    }

    @Test func withoutTheAccountLineFailuresAreNeverCleared() throws {
        var stacks = try Self.faillockStacks()
        stacks[1].1 = try Files.debian("pam.d/common-account")
        let result = try Self.faillock("deny", Self.denyAtMostFive, stacks: stacks)
        #expect(
            result.status == .fail && result.message.contains("no 'account pam_faillock.so' line in /etc/pam.d/common-account"),
            "\(result.message)")
    }

    @Test func debiansFaillockConfSetsNothing() throws {
        // Every line of the shipped faillock.conf is a comment: the compiled-in deny=3 and unlock_time=600 apply.
        let deny = try Self.faillock("deny", Self.denyAtMostFive)
        #expect(deny.status == .pass, "\(deny.message)")
        #expect(deny.message.contains("deny=3 (the default) at /etc/pam.d/common-auth:"), "\(deny.message)")
        let unlock = try Self.faillock("unlock_time", Self.unlockAfterFifteenMinutes)
        #expect(unlock.status == .fail && unlock.message.contains("'600' (the default)"), "\(unlock.message)")
    }

    @Test(arguments: [
        ("deny = 5\nunlock_time = 900\n", "", ResultStatus.pass, "deny=5 (/etc/security/faillock.conf:63)"),
        ("deny = 10\n", "", .fail, "'10' (/etc/security/faillock.conf:63)"),
        // A later assignment in the file wins.
        ("deny = 10\ndeny = 4\n", "", .pass, "deny=4 (/etc/security/faillock.conf:64)"),
        // The authfail line's argument overrides the file for that line.
        ("deny = 5\n", " deny=8", .fail, "'8' (argument) at /etc/pam.d/common-auth:"),
        ("deny = 5 # site choice\n", "", .pass, "deny=5"),
    ])
    func faillockReadsItsFileThenItsArguments(conf: String, authfail: String, expected: ResultStatus, fragment: String) throws {
        let result = try Self.faillock("deny", Self.denyAtMostFive, conf: conf, authfail: authfail)
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    @Test func aFlagIsYesOnlyWhenPresent() throws {
        let absent = try Self.faillock("even_deny_root", .equals("yes"))
        #expect(absent.status == .fail && absent.message.contains("'no' (the default)"), "\(absent.message)")
        let inFile = try Self.faillock("even_deny_root", .equals("yes"), conf: "even_deny_root\n")
        #expect(inFile.status == .pass, "\(inFile.message)")
    }

    @Test func anotherConfigurationFileIsNotGuessed() throws {
        let result = try Self.faillock("deny", Self.denyAtMostFive, authfail: " conf=/etc/security/other.conf")
        #expect(result.status == .error && result.message.contains("reads /etc/security/other.conf"), "\(result.message)")
    }

    // MARK: pam_pwhistory

    static func pwhistory(_ setting: String, _ matcher: Matcher, line: String?) throws -> ControlResult {
        var password = try EffectiveConfigTests.commonPasswordWithPwquality()
        if let line {
            password = password.replacingOccurrences(
                of: "pam_pwquality.so retry=3\n", with: "pam_pwquality.so retry=3\npassword\trequired\t\t\tpam_pwhistory.so \(line)\n")
        }
        let check = Check(PamModuleCheck(module: .pwhistory, setting: setting, value: matcher))
        return Files.evaluate(check, ProbeKey("pam-module", "pam_pwhistory"), Files.dump([("/etc/pam.d/common-password", password)]))
    }

    @Test func pwhistoryIsNotInDebiansStack() throws {
        let result = try Self.pwhistory("remember", .compare(.ge, 24), line: nil)
        #expect(result.status == .fail && result.message.contains("no 'password pam_pwhistory.so' line"), "\(result.message)")
    }

    @Test(arguments: [
        ("remember", "remember=24 enforce_for_root try_first_pass use_authtok", ResultStatus.pass, "remember=24 (argument)"),
        // pam_pwhistory remembers 10 passwords unless told otherwise.
        ("remember", "use_authtok", .fail, "'10' (the default)"),
        ("enforce_for_root", "remember=24 use_authtok", .fail, "'no' (the default)"),
        ("enforce_for_root", "remember=24 enforce_for_root", .pass, "enforce_for_root=yes (argument)"),
        ("use_authtok", "remember=24 enforce_for_root", .fail, "'no' (the default)"),
        ("use_authtok", "remember=24 use_authtok", .pass, "use_authtok=yes"),
    ])
    func pwhistoryReadsItsArguments(setting: String, line: String, expected: ResultStatus, fragment: String) throws {
        let matcher: Matcher = setting == "remember" ? .compare(.ge, 24) : .equals("yes")
        let result = try Self.pwhistory(setting, matcher, line: line)
        #expect(result.status == expected, "\(result.message)")
        #expect(result.message.contains(fragment), "\(result.message)")
    }

    // MARK: the policy language

    @Test(arguments: [
        (
            "{pam_module: {module: pam_tally2, setting: deny, value: \"5\"}}",
            "module must be one of pam_faillock, pam_pwhistory, got 'pam_tally2'"
        ),
        ("{pam_module: {module: pam_pwhistory, setting: deny, value: \"5\"}}", "setting of pam_pwhistory must be one of"),
    ])
    func unknownModulesAndSettingsAreRefusedAtTheirPosition(check: String, expected: String) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let path = try scratch.write(
            "p.yaml", "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: C\n    severity: low\n    check: \(check)\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location?.file == path && error.location?.line == 7, "\(error)")
    }
}
