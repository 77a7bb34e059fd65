import Compliance
import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

@Suite struct PolicyLoadingTests {
    @Test func shippedBaselineHasAtLeastTwelveControls() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let policy = try Policy.load(path: root + "/policies/debian-baseline.yaml")
        #expect(policy.controls.count >= 12)
        #expect(Set(policy.controls.map(\.id)).count == policy.controls.count)
    }

    @Test func noStaysAString() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "p.yaml",
            """
            id: p
            title: P
            controls:
              - id: c
                title: C
                severity: high
                check:
                  sshd: {setting: PermitRootLogin, value: no}
            """)
        let policy = try Policy.load(path: path)
        guard let check = policy.controls[0].check.as(SshdCheck.self) else { Issue.record("not an sshd check"); return }
        #expect(check.value == .equals("no"))
        #expect(check.setting == "permitrootlogin")
    }

    @Test(arguments: [
        ("severity: urgent\n    check: {reboot: {}}", "severity must be one of", 6),
        ("severity: high\n    check: {file: {path: /etc/x, mode: 999}}", "mode must be an octal permission", 7),
        ("severity: high\n    check: {file: {path: etc/x}}", "path must be absolute", 7),
        ("severity: high\n    check: {command: {run: x, stdout: {matches: \"(\"}}}", "invalid regular expression", 7),
        ("severity: high\n    check: {reboot: {}, boot_health: {}}", "exactly one resource", 7),
        ("severity: high\n    check: {sysctl: {key: a, vlaue: b}}", "unknown key 'vlaue'", 7),
    ])
    func invalidControlsAreRejectedWithPositions(body: String, expected: String, line: Int) throws {
        let scratch = try Scratch()
        let path = try scratch.write("p.yaml", "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: C\n    " + body + "\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location?.line == line, "\(error)")
    }

    @Test func duplicateControlIdsAreRejected() throws {
        let scratch = try Scratch()
        let control = "  - id: same\n    title: T\n    severity: low\n    check: {reboot: {}}\n"
        let path = try scratch.write("p.yaml", "id: p\ntitle: P\ncontrols:\n" + control + control)
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(error.message.contains("duplicate control id 'same'"))
        #expect(error.location?.line == 8)
    }
}
