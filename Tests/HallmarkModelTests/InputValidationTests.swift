import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import Testing

/// Inputs that used to pass loading and fail only at bootstrap, build or boot (or trap): each is
/// now an invalid-input error at its file:line:column, before anything runs.
@Suite struct InputValidationTests {
    static func recipe(_ parent: String = "    suite: bookworm\n", rest: String = "") -> String {
        "name: x\nversion: 1.0.0\nparent:\n  debian:\n" + parent + rest
    }

    func recipeError(_ text: String, in scratch: Scratch) throws -> HallmarkError {
        let path = try scratch.write("r.yaml", text)
        return try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
    }

    @Test(arguments: [
        ("    suite: bookwrom\n", "unknown Debian suite 'bookwrom'; expected a codename or suite:", 5, 12),
        ("    suite: \"\"\n", "unknown Debian suite ''", 5, 12),
        ("    suite: bookworm\n    mirror: not a url\n", "mirror must be an http://, https:// or file:// URL", 6, 13),
    ])
    func suitesAndMirrorsAreCheckedAtTheirPosition(parent: String, expected: String, line: Int, column: Int) throws {
        let scratch = try Scratch()
        let error = try recipeError(Self.recipe(parent), in: scratch)
        #expect(error.code == .invalidInput)
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location == SourceLocation(file: scratch.directory + "/r.yaml", line: line, column: column), "\(error)")
    }

    @Test func everyKnownSuiteIsAccepted() throws {
        let scratch = try Scratch()
        for suite in ["bookworm", "trixie", "bullseye", "sid", "stable", "testing", "unstable"] {
            let path = try scratch.write("r.yaml", Self.recipe("    suite: \(suite)\n"))
            guard case .debian(let parent) = try Recipe.load(path: path).parent else { return }
            #expect(parent.suite == suite)
        }
    }

    @Test(arguments: [
        ("99999999999G", "disk size must be at most 16T"), ("18446744073709551616", "disk size must be at most 16T"),
        ("-5G", "size must be a number"), ("17T", "size must be a number"),
    ])
    func diskSizesThatOverflowAreErrorsNotTraps(size: String, expected: String) throws {
        let scratch = try Scratch()
        let error = try recipeError(Self.recipe(rest: "disk: {size: \(size)}\n"), in: scratch)
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location == SourceLocation(file: scratch.directory + "/r.yaml", line: 6, column: 14), "\(error)")
    }

    @Test func anOverlongNameIsInvalidInput() throws {
        let scratch = try Scratch()
        let name = String(repeating: "a", count: 300)
        let error = try recipeError("name: \(name)\nversion: 1.0.0\nparent: {debian: {suite: bookworm}}\n", in: scratch)
        #expect(error.code == .invalidInput)
        #expect(error.message == "name must be at most 64 characters, got 300")
        #expect(error.location == SourceLocation(file: scratch.directory + "/r.yaml", line: 1, column: 7))
    }

    @Test func aDirectoryWhereAFileIsWantedIsNamedAsSuch() throws {
        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.directory + "/policies", withIntermediateDirectories: true)
        let error = try recipeError(Self.recipe(rest: "tests: {policies: [policies]}\n"), in: scratch)
        #expect(error.message == "policy file \(scratch.directory)/policies: is a directory; expected a readable file", "\(error)")
        #expect(error.location == SourceLocation(file: scratch.directory + "/r.yaml", line: 6, column: 20))

        let recipeDirectory = try #require(throws: HallmarkError.self) { try Recipe.load(path: scratch.directory + "/policies") }
        #expect(recipeDirectory.code == .invalidInput)
        #expect(recipeDirectory.message == "is a directory; expected a readable recipe file")
        #expect(recipeDirectory.location == SourceLocation(file: scratch.directory + "/policies"))
    }

    @Test func devicesAndFIFOsAreNotRegularFiles() throws {
        let scratch = try Scratch()
        let fifo = scratch.directory + "/fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let device = try #require(throws: HallmarkError.self) { try Policy.load(path: "/dev/zero") }
        #expect(device.message == "is a device, not a regular file; expected a readable policy file", "\(device)")
        #expect(device.code == .invalidInput)
        let pipe = try #require(throws: HallmarkError.self) { try Waivers.load(path: fifo) }
        #expect(pipe.message == "is a FIFO, not a regular file; expected a readable waiver file", "\(pipe)")
        let component = try recipeError(
            Self.recipe(rest: "components:\n  - path: /dev/zero\n"), in: scratch)
        #expect(component.message == "component file /dev/zero: is a device, not a regular file; expected a readable file", "\(component)")
        #expect(component.location == SourceLocation(file: scratch.directory + "/r.yaml", line: 7, column: 11))
        let key = try recipeError(Self.recipe(rest: "evidence: {signing_key: fifo}\n"), in: scratch)
        #expect(key.message == "signing key \(fifo): is a FIFO, not a regular file; expected a readable file", "\(key)")
        #expect(key.location == SourceLocation(file: scratch.directory + "/r.yaml", line: 6, column: 25))
    }

    @Test func anOverlongFileNameIsInvalidInputNotAFoundationError() throws {
        let path = "/tmp/" + String(repeating: "r", count: 300) + ".yaml"
        let error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        #expect(error.code == .invalidInput)
        #expect(error.message == "the path is too long; expected a readable recipe file", "\(error)")
    }

    // MARK: Components

    static func component(step: String) -> String {
        "name: c\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - name: s\n" + step
    }

    @Test(arguments: [
        (
            "        action: ExecuteBash\n        timeoutSeconds: -5\n        inputs: {commands: [x]}\n",
            "timeoutSeconds must be -1 (no timeout) or a whole number from 1 to 31622400, got '-5'", 8, 25
        ),
        (
            "        action: ExecuteBash\n        timeoutSeconds: 99999999999999999999\n        inputs: {commands: [x]}\n",
            "timeoutSeconds must be -1 (no timeout) or a whole number from 1 to 31622400, got '99999999999999999999'", 8, 25
        ),
        (
            "        action: ExecuteBash\n        maxAttempts: 0\n        inputs: {commands: [x]}\n",
            "maxAttempts must be a whole number from 1 to 100, got '0'", 8, 22
        ),
        (
            "        action: SetFilePermissions\n        inputs:\n          - path: /etc/x\n",
            "step 's' (SetFilePermissions): each entry needs 'permissions', an octal mode such as \"0644\"", 9, 13
        ),
    ])
    func stepSettingsAndInputsAreCheckedWhenLoaded(step: String, expected: String, line: Int, column: Int) throws {
        let scratch = try Scratch()
        let path = try scratch.write("c.yaml", Self.component(step: step))
        let error = try #require(throws: HallmarkError.self) { try Component.load(path: path) }
        #expect(error.code == .invalidInput)
        #expect(error.message == expected, "\(error)")
        #expect(error.location == SourceLocation(file: path, line: line, column: column), "\(error)")
    }

    // MARK: Numbers in policies

    static func policy(check: String, tests: String = "") -> String {
        "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: C\n    severity: low\n    check: \(check)\n" + tests
    }

    @Test(arguments: ["-1", "256", "99999999999", "-99999999999999999999"])
    func exitCodesOutsideAProcessStatusAreErrors(code: String) throws {
        let scratch = try Scratch()
        let inCheck = try scratch.write("p.yaml", Self.policy(check: "{command: {run: x, exit_code: \(code)}}"))
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: inCheck) }
        #expect(error.message == "an exit code must be a whole number from 0 to 255, got '\(code)'", "\(error)")
        #expect(error.location == SourceLocation(file: inCheck, line: 7, column: 42))

        let tests = "tests:\n  - name: t\n    facts:\n      \"command:x\": {exit_code: \(code)}\n    expect: {c: pass}\n"
        let inFact = try scratch.write("q.yaml", Self.policy(check: "{command: {run: x, exit_code: 0}}", tests: tests))
        let factError = try #require(throws: HallmarkError.self) { try Policy.load(path: inFact) }
        #expect(factError.message == "an exit code must be a whole number from 0 to 255, got '\(code)'", "\(factError)")
        #expect(factError.location == SourceLocation(file: inFact, line: 11, column: 32))
    }

    // MARK: Selecting controls

    func twoPolicies() throws -> [Policy] {
        let scratch = try Scratch()
        let a = try scratch.write(
            "a.yaml",
            "id: a\ntitle: A\ncontrols:\n  - id: a1\n    title: A1\n    severity: low\n    tags: [ssh]\n    check: {command: {run: x, exit_code: 0}}\n"
        )
        let b = try scratch.write("b.yaml", Self.policy(check: "{command: {run: y, exit_code: 0}}"))
        return try Policy.loadAll(paths: [a, b], variables: [:])
    }

    @Test func aTagNoControlHasIsAUsageError() throws {
        let policies = try twoPolicies()
        let error = try #require(throws: HallmarkError.self) { try Policy.select(policies, tags: ["ssh", "shh"], ids: []) }
        #expect(error.code == .usage)
        #expect(error.message == "--tag 'shh' selects no control; tags of these policies: ssh")
        let selected = try Policy.select(policies, tags: ["ssh"], ids: [])
        #expect(selected.flatMap(\.controls).map(\.id) == ["a1"])
    }

    @Test func aControlIDNoPolicyHasIsAUsageError() throws {
        let policies = try twoPolicies()
        let error = try #require(throws: HallmarkError.self) { try Policy.select(policies, tags: [], ids: ["nosuch"]) }
        #expect(error.code == .usage)
        #expect(error.message.hasPrefix("--control 'nosuch' names no control"))
        #expect(try Policy.select(policies, tags: [], ids: ["c"]).flatMap(\.controls).map(\.id) == ["c"])
        let disjoint = try #require(throws: HallmarkError.self) { try Policy.select(policies, tags: ["ssh"], ids: ["c"]) }
        #expect(disjoint.code == .usage)
        #expect(try Policy.select(policies, tags: [], ids: []).flatMap(\.controls).count == 2)
    }

    // MARK: Waivers

    @Test func expiredWaiversAreProblemsAtTheirPosition() throws {
        let waivers = try Waivers.parse(
            "waivers:\n  - control: a\n    justification: why\n    expires: 2020-01-31\n  - control: b\n    justification: why\n    expires: 2999-12-31\n",
            file: "w.yaml")
        let day = try #require(ISO8601DateFormatter().date(from: "2021-06-01T00:00:00Z"))
        let problems = waivers.expiryProblems(on: day)
        #expect(problems.count == 1)
        #expect(problems.first?.message.hasPrefix("waiver for control 'a' expired on 2020-01-31 and waives nothing") == true)
        // At the date to change: the `expires` value.
        #expect(problems.first?.location == SourceLocation(file: "w.yaml", line: 4, column: 14))
        let lastDay = try #require(ISO8601DateFormatter().date(from: "2020-01-31T23:00:00Z"))
        #expect(waivers.expiryProblems(on: lastDay).isEmpty)
    }
}
