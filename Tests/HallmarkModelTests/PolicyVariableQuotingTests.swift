import Compliance
import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

/// Policy variables in a command check's shell text stay data: whatever a recipe sets, the value
/// is one literal piece of the command, never shell syntax.
@Suite struct PolicyVariableQuotingTests {
    static func policy(run: String, default value: String = "30") -> String {
        """
        id: p
        title: P
        variables: {max_days: "\(value)"}
        controls:
          - id: c
            title: C
            severity: high
            check: {command: {run: \(run), exit_code: 0}}
        """
    }

    static func run(_ check: Check) -> String? {
        guard let command = check.as(CommandCheck.self) else { return nil }
        return command.run
    }

    /// Runs the substituted command under /bin/sh and returns its exit code.
    static func shellStatus(_ command: String) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test func aRecipeValueCannotTurnAFailingCheckIntoAPass() throws {
        let scratch = try Scratch()
        let path = try scratch.write("p.yaml", Self.policy(run: "'v=45; [ \"$v\" -le {{ max_days }} ]'"))
        let hostile = "30 ] || true; [ 1"
        let policy = try Policy.load(path: path, variables: ["max_days": hostile])
        let command = try #require(Self.run(policy.controls[0].check))
        #expect(command == "v=45; [ \"$v\" -le '30 ] || true; [ 1' ]")
        #expect(try Self.shellStatus(command) != 0, "the hostile value must not make the test succeed")
        // The shipped default stays as it was: a plain number needs no quotes.
        let plain = try #require(Self.run(try Policy.load(path: path).controls[0].check))
        #expect(plain == "v=45; [ \"$v\" -le 30 ]")
        #expect(try Self.shellStatus(plain) != 0)
        let permissive = try #require(Self.run(try Policy.load(path: path, variables: ["max_days": "60"]).controls[0].check))
        #expect(try Self.shellStatus(permissive) == 0)
    }

    @Test(arguments: [
        // Inside double quotes: escaped, still one literal word.
        ("'[ \"{{ max_days }}\" = \"$(printf %s x)\" ]'", "x\"; true; \"", "[ \"x\\\"; true; \\\"\" = \"$(printf %s x)\" ]"),
        // Inside a command substitution: quoted like any unquoted place.
        ("'[ \"$(echo {{ max_days }})\" = 1 ]'", "$(id)", "[ \"$(echo '$(id)')\" = 1 ]"),
        // After ${…} closes, quoting is judged again.
        ("'v=${HOME#/}; [ {{ max_days }} ]'", "a b", "v=${HOME#/}; [ 'a b' ]"),
    ])
    func valuesAreQuotedForWhereTheyLand(run: String, value: String, expected: String) throws {
        let scratch = try Scratch()
        let path = try scratch.write("p.yaml", Self.policy(run: run))
        let command = try #require(Self.run(try Policy.load(path: path, variables: ["max_days": value]).controls[0].check))
        #expect(command == expected)
    }

    @Test func aValueThatWouldBecomeCodeInsideSingleQuotesIsRefused() throws {
        let scratch = try Scratch()
        // awk's program is single-quoted shell text: the value would become awk code.
        let path = try scratch.write("p.yaml", Self.policy(run: "\"awk '$2 > {{ max_days }} { exit 1 }' /etc/login.defs\""))
        #expect(Self.run(try Policy.load(path: path).controls[0].check) == "awk '$2 > 30 { exit 1 }' /etc/login.defs")
        let error = try #require(throws: HallmarkError.self) {
            try Policy.load(path: path, variables: ["max_days": "0 || 1"])
        }
        #expect(error.message.contains("cannot be placed safely"))
    }

    @Test func onlyShellTextIsQuoted() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "p.yaml",
            """
            id: p
            title: P
            variables: {max_days: "3 0"}
            controls:
              - id: c
                title: "At most {{ max_days }} days"
                severity: high
                check: {command: {run: "echo {{ max_days }}", stdout: "{{ max_days }}"}}
            """)
        let control = try Policy.load(path: path).controls[0]
        #expect(control.title == "At most 3 0 days")
        guard let command = control.check.as(CommandCheck.self) else { Issue.record("not a command check"); return }
        #expect(command.run == "echo '3 0'")
        #expect(command.stdout == .equals("3 0"))
    }

    @Test func anExitCodeTooLargeForAProcessIsAnErrorNotATrap() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "p.yaml",
            "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: C\n    severity: low\n    check: {command: {run: x, exit_code: 99999999999}}\n"
        )
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(error.message.contains("an exit code must be a whole number from 0 to 255"), "\(error)")
        #expect(error.location == SourceLocation(file: path, line: 7, column: 42), "\(error)")
    }
}
