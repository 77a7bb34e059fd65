import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// A typo must not turn `policy test` or `policy lint` into a pass: through the real binary, no VM.
@Suite(.tags(.binary)) struct GateSemanticsTests {
    let reports = Hallmark.scratchReports()

    static let policy = """
        id: p
        title: P
        controls:
          - id: root-login
            title: SSH root login is disabled
            severity: high
            tags: [ssh]
            check: {sshd: {setting: PermitRootLogin, value: "no"}}
        """

    func write(_ name: String, _ text: String) throws -> String {
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let path = reports + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func hallmark(_ arguments: [String]) async throws -> Hallmark.Run {
        try await Hallmark.run(arguments, reports: reports, passReports: false, separateErrors: true)
    }

    func facts() throws -> String {
        try write("facts.json", #"{"probes": {"sshd": {"exitCode": 0, "stdout": "permitrootlogin no\n", "stderr": ""}}}"#)
    }

    @Test func aTagThatSelectsNothingIsAUsageError() async throws {
        let policy = try write("p.yaml", Self.policy)
        let facts = try facts()
        let typo = try await hallmark(["policy", "test", policy, "--facts", facts, "--tag", "nosuchtag"])
        #expect(typo.status == .exited(64), "\(typo.output)\(typo.errors)")
        #expect(typo.errors == "hallmark: error: --tag 'nosuchtag' selects no control; tags of these policies: ssh\n")
        #expect(!typo.output.contains("gate"))
        // Its own test cases too: the filter is checked before any mode runs.
        #expect(try await hallmark(["policy", "test", policy, "--tag", "nosuchtag", "--allow-no-cases"]).status == .exited(64))

        let tagged = try await hallmark(["policy", "test", policy, "--facts", facts, "--tag", "ssh"])
        #expect(tagged.status == .exited(0), "\(tagged.output)\(tagged.errors)")
        #expect(tagged.output.contains("1 controls: 1 pass"))
    }

    @Test func aControlIDThatSelectsNothingIsAUsageError() async throws {
        let policy = try write("p.yaml", Self.policy)
        let run = try await hallmark(["policy", "test", policy, "--facts", try facts(), "--control", "root-logn"])
        #expect(run.status == .exited(64), "\(run.output)\(run.errors)")
        #expect(run.errors.hasPrefix("hallmark: error: --control 'root-logn' names no control of these policies"))
        let selected = try await hallmark(["policy", "test", policy, "--facts", try facts(), "--control", "root-login"])
        #expect(selected.status == .exited(0), "\(selected.output)\(selected.errors)")
    }

    @Test func zeroTestCasesAreNotASuccessUnlessAskedFor() async throws {
        let policy = try write("p.yaml", Self.policy)
        let none = try await hallmark(["policy", "test", policy])
        #expect(none.status == .exited(64), "\(none.output)\(none.errors)")
        #expect(none.output.contains("\(policy): no test cases"))
        #expect(none.errors.hasPrefix("hallmark: error: no test cases: none of the policy files has a 'tests:' section"))
        #expect(!none.output.contains("0/0"))

        let allowed = try await hallmark(["policy", "test", policy, "--allow-no-cases"])
        #expect(allowed.status == .exited(0), "\(allowed.output)\(allowed.errors)")
        #expect(allowed.output.contains("0/0 test case(s) passed"))

        let withCases = try write(
            "q.yaml",
            Self.policy + "\ntests:\n  - name: hardened\n    facts: {sshd: \"permitrootlogin no\\n\"}\n    expect: {root-login: pass}\n")
        let cases = try await hallmark(["policy", "test", withCases])
        #expect(cases.status == .exited(0), "\(cases.output)\(cases.errors)")
        #expect(cases.output.contains("1/1 test case(s) passed"))
    }

    @Test func lintReportsExpiredAndMissingWaiverExpiries() async throws {
        let policy = try write("p.yaml", Self.policy)
        let expired = try write(
            "expired.yaml", "waivers:\n  - control: root-login\n    justification: legacy jump host\n    expires: 2020-01-31\n")
        let run = try await hallmark(["policy", "lint", policy, "--waivers", expired])
        #expect(run.status == .exited(65), "\(run.output)\(run.errors)")
        // Problems go to stderr in the one error shape, at the `expires` value.
        #expect(
            run.errors.contains(
                "hallmark: error: \(expired):4:14: waiver for control 'root-login' expired on 2020-01-31 and waives nothing; extend 'expires'"
            ),
            "\(run.errors)")
        #expect(!run.output.contains("\(expired): ok"))

        let missing = try write("missing.yaml", "waivers:\n  - control: root-login\n    justification: legacy jump host\n")
        let noExpiry = try await hallmark(["policy", "lint", policy, "--waivers", missing])
        #expect(noExpiry.status == .exited(65), "\(noExpiry.output)\(noExpiry.errors)")
        #expect(
            noExpiry.errors.contains("hallmark: error: \(missing):2:5: waiver for control 'root-login' has no 'expires' date"),
            "\(noExpiry.errors)")

        let current = try write(
            "current.yaml", "waivers:\n  - control: root-login\n    justification: legacy jump host\n    expires: 2999-12-31\n")
        let ok = try await hallmark(["policy", "lint", policy, "--waivers", current])
        #expect(ok.status == .exited(0), "\(ok.output)\(ok.errors)")
        #expect(ok.output.contains("\(current): ok (1 waivers)"))
    }

    @Test func aDirectoryOrADeviceGivenAsAPolicyIsNamedAsSuch() async throws {
        try FileManager.default.createDirectory(atPath: reports + "/dir", withIntermediateDirectories: true)
        let directory = try await hallmark(["policy", "test", reports + "/dir", "--allow-no-cases"])
        #expect(directory.status == .exited(65))
        #expect(directory.errors == "hallmark: error: \(reports)/dir: is a directory; expected a readable policy file\n")
        let device = try await hallmark(["policy", "test", "/dev/zero", "--allow-no-cases"])
        #expect(device.status == .exited(65))
        #expect(device.errors.contains("/dev/zero: is a device, not a regular file; expected a readable policy file"), "\(device.errors)")
        let facts = try await hallmark(["policy", "test", try write("p.yaml", Self.policy), "--facts", reports + "/dir"])
        #expect(facts.status == .exited(65))
        #expect(facts.errors.contains("\(reports)/dir: is a directory; expected a readable facts file"), "\(facts.errors)")
    }
}
