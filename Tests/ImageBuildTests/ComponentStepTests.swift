import Foundation
import HallmarkTestSupport
import Testing

@testable import HallmarkModel
@testable import HallmarkSupport
@testable import ImageBuild
@testable import ImageStore

/// Steps as TOE runs them: loops, conditions, onFailure's three outcomes, chaining, no timeout.
@Suite struct ComponentStepTests {
    static func document(_ steps: String, parameters: String = "") -> String {
        "name: steps\nschemaVersion: 1.0\n\(parameters)phases:\n  - name: build\n    steps:\n" + steps
    }

    func run(_ yaml: String, parameters: [String: String] = [:], phase: String = "build") async throws -> (
        [StepRecord], [String: String], ComponentStepFailure?
    ) {
        let component = try loadComponent(yaml)
        var outputs: [String: String] = [:]
        do {
            let records = try await ComponentRunner(component: component, parameters: parameters, log: { _ in })
                .run(phaseNamed: phase, on: LocalBash(), outputs: &outputs)
            return (records, outputs, nil)
        } catch let failure as ComponentStepFailure {
            return ([], outputs, failure)
        }
    }

    @Test func loopsRunOncePerValueAndJoinTheirOutputs() async throws {
        let yaml = Self.document(
            """
                  - name: Range
                    action: ExecuteBash
                    loop: {for: {start: 10, end: 0, updateBy: -5}}
                    inputs: {commands: ['echo {{ loop.index }}={{ loop.value }}']}
                  - name: Each
                    action: ExecuteBash
                    loop: {name: fruit, forEach: [apple, pear]}
                    inputs: {commands: ['echo {{ fruit.value }}']}
                  - name: Split
                    action: ExecuteBash
                    loop: {forEach: {list: '{{ Items }}', delimiter: ';'}}
                    inputs: {commands: ['echo "<{{ loop.value }}>"']}

            """, parameters: "parameters:\n  - Items: {type: string, default: 'a;b c;'}\n")
        let (records, outputs, failure) = try await run(yaml)
        #expect(failure == nil)
        #expect(records.map(\.attempts) == [3, 2, 3])
        #expect(outputs["build.Range.outputs.stdout"] == "0=10\n1=5\n2=0")
        #expect(outputs["build.Each.outputs.stdout"] == "apple\npear")
        #expect(outputs["build.Split.outputs.stdout"] == "<a>\n<b c>\n<>")
    }

    @Test func aLoopThatNeverEndsFailsTheStep() async throws {
        let (_, _, failure) = try await run(
            Self.document(
                "      - {name: Up, action: ExecuteBash, loop: {for: {start: 1, end: 5, updateBy: -1}}, inputs: {commands: [x]}}\n"))
        #expect(failure?.message == "component 'steps' build step 'Up' its loop 'for' from 1 to 5 by -1 never reaches its end")
    }

    @Test func conditionsDecideAndASkippedStepCountsAsSuccessful() async throws {
        let yaml = Self.document(
            """
                  - name: HasBash
                    action: ExecuteBash
                    if: {and: [{binaryExists: bash}, {not: {fileExists: /nonexistent/file}}]}
                    inputs: {commands: ['echo ran']}
                  - name: NoSuchBinary
                    action: ExecuteBash
                    if: {binaryExists: no-such-binary-here}
                    inputs: {commands: ['exit 1']}
                  - name: Compare
                    action: ExecuteBash
                    if:
                      or:
                        - numberGreaterThan: 2
                          value: 10
                        - stringEquals: ran
                          value: '{{ build.HasBash.outputs.stdout }}'
                    inputs: {commands: ['echo compared']}
                  - name: Else
                    action: ExecuteBash
                    if: {stringIsEmpty: x, else: Execute, then: Skip}
                    inputs: {commands: ['echo else']}

            """)
        let (records, outputs, failure) = try await run(yaml)
        #expect(failure == nil)
        #expect(records.map(\.outcome) == ["success", "skipped", "success", "success"])
        #expect(outputs["build.Compare.outputs.stdout"] == "compared")
        #expect(outputs["build.Else.outputs.stdout"] == "else")
    }

    @Test func comparisonsFollowTheGuide() {
        #expect(StepConditions.compare(.numberLessThan, "1", "2") == true)
        #expect(StepConditions.compare(.numberEquals, "1.0", "1") == true)
        #expect(StepConditions.compare(.numberEquals, "a10", "a10") == false)
        #expect(StepConditions.compare(.numberGreaterThan, "10", "9") == true)
        #expect(StepConditions.compare(.stringEquals, "Testing", "TESTING") == false)
        #expect(StepConditions.compare(.semanticVersionLessThan, "1.9.0", "1.10.0") == true)
        #expect(StepConditions.compare(.stringLessThan, "a", "B") == true)
        #expect(StepConditions.compare(.patternMatches, "^v[0-9]+$", "v12") == true)
        #expect(StepConditions.compare(.stringIsWhitespace, "", "") == false)
    }

    @Test func onFailureGivesTOEsThreeOutcomes() async throws {
        let steps = { (onFailure: String) in
            Self.document(
                """
                      - {name: Fails, action: ExecuteBash, onFailure: \(onFailure), inputs: {commands: ['exit 3']}}
                      - {name: After, action: ExecuteBash, inputs: {commands: ['echo after']}}

                """)
        }
        // Abort: Failed at once; the next step never runs.
        let (_, abortOutputs, abort) = try await run(steps("Abort"))
        #expect(abort?.message.hasPrefix("component 'steps' build step 'Fails' failed with exit code 3") == true)
        #expect(abortOutputs["build.After.outputs.stdout"] == nil)
        // Continue: the remaining steps run, then the document fails.
        let (_, continueOutputs, continued) = try await run(steps("Continue"))
        #expect(continued?.message.hasPrefix("component 'steps' build step 'Fails' failed with exit code 3") == true)
        #expect(continueOutputs["build.After.outputs.stdout"] == "after")
        // Ignore: success with an ignored failure.
        let (records, _, ignored) = try await run(steps("Ignore"))
        #expect(ignored == nil)
        #expect(records.map(\.outcome) == ["ignored", "success"])
    }

    @Test func inputsAndOutputsChainAcrossPhases() async throws {
        let yaml = """
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - {name: Make, action: ExecuteBash, timeoutSeconds: -1, inputs: {commands: ['echo made']}}
              - name: validate
                steps:
                  - name: Check
                    action: ExecuteBash
                    inputs: {commands: ['echo "{{ build.Make.outputs.stdout }} by {{ build.Make.inputs.commands[0] }}"']}

            """
        let component = try loadComponent(yaml)
        let runner = ComponentRunner(component: component, parameters: [:], log: { _ in })
        var outputs: [String: String] = [:]
        _ = try await runner.run(.build, on: LocalBash(), outputs: &outputs)
        _ = try await runner.run(.validate, on: LocalBash(), outputs: &outputs)
        #expect(outputs["validate.Check.outputs.stdout"] == "made by echo made")
    }

    @Test func aFileActionStopsAtItsFirstFailingEntry() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("entries-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let yaml = Self.document(
            """
                  - name: Append
                    action: AppendFile
                    inputs:
                      - {path: \(scratch)/missing, content: x}
                      - {path: \(scratch)/later, content: y}

            """)
        let (_, _, failure) = try await run(yaml)
        #expect(
            failure?.message.hasPrefix("component 'steps' build step 'Append' failed with exit code 1") == true,
            "\(String(describing: failure))")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/missing"))
        #expect(!FileManager.default.fileExists(atPath: scratch + "/later"))
    }

    @Test func fileActionsThatLeadOutOfTheTreeFailNamingTheStepAndEntry() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("escape-\(UUID().uuidString)").path
        let tree = scratch + "/tree", host = scratch + "/host"
        for directory in [tree + "/etc", tree + "/usr/share", host] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createSymbolicLink(atPath: tree + "/root-link", withDestinationPath: "/")
        try FileManager.default.createSymbolicLink(atPath: tree + "/climb", withDestinationPath: "../../host")
        try FileManager.default.createSymbolicLink(atPath: tree + "/share", withDestinationPath: "usr/share")
        let files = TreeFiles(root: tree)
        #expect(files.escape(of: "/share/doc/x") == nil)
        #expect(files.escape(of: "/etc/new/file") == nil)
        #expect(files.escape(of: "/climb/x") == "'/climb/x' climbs above the image's root")
        #expect(files.escape(of: "/root-link\(host)/x") == "/root-link is a symbolic link to /, which leads out of the image's tree")

        let executor = ChrootExecutor(root: tree, scratch: scratch + "/step")
        for (path, reason) in [
            ("/etc/../../host/owned", "'..' is not allowed in a path; write the absolute path inside the image"),
            ("/root-link\(host)/owned", "/root-link is a symbolic link to /, which leads out of the image's tree"),
        ] {
            let component = try loadComponent(
                Self.document(
                    """
                          - name: Escape
                            action: CreateFile
                            inputs:
                              - {path: /etc/fine, content: x}
                              - {path: '\(path)', content: x}

                    """))
            var outputs: [String: String] = [:]
            let failure = await #expect(throws: ComponentStepFailure.self) {
                try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(.build, on: executor, outputs: &outputs)
            }
            #expect(
                failure?.message.hasPrefix("component 'steps' build step 'Escape' entry 2 (path '\(path)') at ") == true,
                "\(String(describing: failure))")
            #expect(failure?.message.hasSuffix("is refused: \(reason)") == true, "\(String(describing: failure))")
        }
        #expect(!FileManager.default.fileExists(atPath: host + "/owned"))
        #expect(!FileManager.default.fileExists(atPath: tree + "/etc/fine"), "no entry runs when one is refused")
    }

    @Test func moreActionsAsTOERunsThem() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("actions-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for name in ["a.log", "b.log", "keep.txt", "weird name.log"] {
            try "x".write(toFile: scratch + "/" + name, atomically: true, encoding: .utf8)
        }
        let yaml = Self.document(
            """
                  - name: Wildcard
                    action: DeleteFile
                    inputs:
                      - path: \(scratch)/*.log
                  - name: Folder
                    action: CreateFolder
                    inputs:
                      - {path: \(scratch)/made/deep, permissions: '0700'}
                  - name: Binary
                    action: ExecuteBinary
                    inputs:
                      path: /usr/bin/printf
                      arguments: ['%s|', 'two words', '$HOME']
                  - name: Read
                    action: ReadFile
                    inputs:
                      path: \(scratch)/keep.txt
                  - name: Holds
                    action: Assert
                    inputs:
                      stringEquals: x
                      value: '{{ build.Read.outputs.content }}'
                  - name: DoesNotHold
                    action: Assert
                    onFailure: Ignore
                    inputs:
                      numberGreaterThan: 1
                      value: 2

            """)
        let (records, outputs, failure) = try await run(yaml)
        #expect(failure == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).sorted() == ["keep.txt", "made"])
        let mode = try FileManager.default.attributesOfItem(atPath: scratch + "/made/deep")[.posixPermissions] as? Int
        #expect(mode == 0o700)
        #expect(outputs["build.Binary.outputs.stdout"] == "two words|$HOME|")
        #expect(outputs["build.Read.outputs.content"] == "x")
        #expect(records.map(\.outcome) == ["success", "success", "success", "success", "success", "ignored"])
    }

    @Test func copyMoveLinkAndFolderActions() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("copies-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch + "/tree/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try "one".write(toFile: scratch + "/one", atomically: true, encoding: .utf8)
        try "deep".write(toFile: scratch + "/tree/sub/file", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch + "/full", withIntermediateDirectories: true)
        try "x".write(toFile: scratch + "/full/x", atomically: true, encoding: .utf8)
        let user = NSUserName()
        let yaml = Self.document(
            """
                  - name: Copy
                    action: CopyFile
                    inputs: [{source: \(scratch)/one, destination: \(scratch)/copies/one}]
                  - name: CopyTree
                    action: CopyFolder
                    inputs: [{source: \(scratch)/tree, destination: \(scratch)/tree-copy}]
                  - name: Move
                    action: MoveFile
                    inputs: [{source: \(scratch)/one, destination: \(scratch)/moved}]
                  - name: Link
                    action: CreateSymlink
                    inputs: [{source: moved, destination: \(scratch)/link}]
                  - name: Own
                    action: SetFolderOwner
                    inputs: [{path: \(scratch)/tree-copy, owner: \(user), recursive: true}]
                  - name: Modes
                    action: SetFolderPermissions
                    inputs: [{path: \(scratch)/tree-copy, permissions: '0750'}]
                  - name: NotEmpty
                    action: DeleteFolder
                    onFailure: Continue
                    inputs: [{path: \(scratch)/full}]
                  - name: Forced
                    action: DeleteFolder
                    inputs: [{path: \(scratch)/tree, force: true}]
                  - name: NoOverwrite
                    action: CopyFile
                    onFailure: Ignore
                    inputs: [{source: \(scratch)/moved, destination: \(scratch)/copies/one, overwrite: false}]

            """)
        let (_, outputs, failure) = try await run(yaml)
        #expect(failure?.message.hasPrefix("component 'steps' build step 'NotEmpty' failed") == true, "\(String(describing: failure))")
        #expect(outputs["build.Forced.outputs.stdout"] != nil, "Continue ran the steps after the failure")
        #expect(try String(contentsOfFile: scratch + "/copies/one", encoding: .utf8) == "one")
        #expect(try String(contentsOfFile: scratch + "/tree-copy/sub/file", encoding: .utf8) == "deep")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: scratch + "/link") == "moved")
        #expect(!FileManager.default.fileExists(atPath: scratch + "/one"))
        #expect(FileManager.default.fileExists(atPath: scratch + "/full/x"))
        #expect(!FileManager.default.fileExists(atPath: scratch + "/tree"))
        let mode = try FileManager.default.attributesOfItem(atPath: scratch + "/tree-copy")[.posixPermissions] as? Int
        #expect(mode == 0o750)
    }

    @Test func executeDocumentRunsTheNestedDocumentAndRefusesCycles() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nested-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch + "/parts", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try """
        schemaVersion: 1.0
        parameters:
          - Word: {type: string}
        phases:
          - name: build
            steps:
              - {name: Say, action: ExecuteBash, inputs: {commands: ['echo {{ Word }} > \(scratch)/said']}}

        """.write(toFile: scratch + "/parts/say.yaml", atomically: true, encoding: .utf8)
        let outer = scratch + "/outer.yaml"
        try """
        schemaVersion: 1.0
        phases:
          - name: build
            steps:
              - name: Nested
                action: ExecuteDocument
                inputs:
                  document: parts/say.yaml
                  phases: build
                  parameters: [{name: Word, value: nested}]

        """.write(toFile: outer, atomically: true, encoding: .utf8)
        let component = try Component.load(path: outer)
        var outputs: [String: String] = [:]
        let records = try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(
            .build, on: LocalBash(), outputs: &outputs)
        #expect(records.map(\.step) == ["Say", "Nested"])
        #expect(try String(contentsOfFile: scratch + "/said", encoding: .utf8) == "nested\n")

        try """
        schemaVersion: 1.0
        phases:
          - name: build
            steps:
              - {name: Back, action: ExecuteDocument, inputs: {document: ../outer.yaml}}

        """.write(toFile: scratch + "/parts/say.yaml", atomically: true, encoding: .utf8)
        let error = try #require(throws: HallmarkError.self) { try Component.load(path: outer) }
        #expect(error.message.hasPrefix("step 'Back': ExecuteDocument '../outer.yaml' leads back to \(outer)"), "\(error)")
    }

    /// The guide-style fixture, run phase after phase as a build and a test run it, sharing chained values.
    @Test func theGuideStyleFixtureRunsWithTOEsOutcomes() async throws {
        let component = try Component.load(path: Repository.fixture("components/guide-style.yaml"))
        let runner = ComponentRunner(component: component, parameters: [:], log: { _ in })
        var outputs: [String: String] = [:]
        var records: [StepRecord] = []
        for phase in ["build", "validate", "test"] {
            records += try await runner.run(phaseNamed: phase, on: AptHost(), outputs: &outputs)
        }
        #expect(
            records.map { "\($0.step):\($0.outcome):\($0.attempts)" } == [
                "PackageManager:success:1", "OtherManager:skipped:0", "EachName:success:2", "Tolerated:ignored:2",
                "ManagerIsApt:success:1", "CommandsChain:success:1", "NamesLooped:success:1", "AptInImage:success:1",
            ])
    }

    /// The host's bash, answering `binaryExists` as a Debian build tree would (apt-get, no yum),
    /// whatever the host has.
    struct AptHost: StepExecutor {
        func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
            if bashScript.hasPrefix("command -v -- apt-get") { return StepOutput(exitCode: 0, stdout: "", stderr: "") }
            if bashScript.hasPrefix("command -v -- yum") { return StepOutput(exitCode: 1, stdout: "", stderr: "") }
            return try await LocalBash().run(bashScript: bashScript, timeout: timeout)
        }
        func reboot() async throws {}
    }

    /// Counts reboots, and says what a chroot says about them.
    final class RebootCounter: StepExecutor, @unchecked Sendable {
        let lock = NSLock()
        var reboots = 0
        func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
            try await LocalBash().run(bashScript: bashScript, timeout: timeout)
        }
        func reboot() async throws { lock.withLock { reboots += 1 } }
        var rebootNote: String? { "no reboot here" }
    }

    @Test func rebootRebootsOnceAndTheDocumentContinues() async throws {
        let component = try loadComponent(
            Self.document(
                """
                      - {name: Restart, action: Reboot, inputs: {delaySeconds: 0}}
                      - {name: After, action: ExecuteBash, inputs: {commands: ['echo after']}}

                """))
        let executor = RebootCounter()
        let lines = LogLines()
        var outputs: [String: String] = [:]
        let records = try await ComponentRunner(component: component, parameters: [:], log: lines.append).run(
            .build, on: executor, outputs: &outputs)
        #expect(executor.reboots == 1)
        #expect(records.map(\.outcome) == ["success", "success"])
        #expect(lines.all.contains("[steps] build/Restart (Reboot): no reboot here"), "\(lines.all)")
    }

    @Test func updateOSUsesAptWithIncludeAndExclude() throws {
        let component = try loadComponent(
            Self.document("      - {name: Update, action: UpdateOS, inputs: {exclude: [linux-image-amd64]}}\n"))
        let script = try StepScript.bash(for: try #require(component.phase(.build)?.steps.first)) { _ in nil }
        #expect(
            script == """
                set -e
                apt-get update
                apt-mark hold linux-image-amd64 >/dev/null
                release() { apt-mark unhold linux-image-amd64 >/dev/null; }
                trap release EXIT
                apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade

                """)
    }
}

final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var all: [String] { lock.withLock { lines } }
    func append(_ line: String) { lock.withLock { lines.append(line) } }
}
