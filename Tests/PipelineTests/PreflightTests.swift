import Attestation
import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

@testable import Pipeline

/// What a command checks before it builds or boots anything: every phase of every component, the
/// signing key, the reports directory, and that the build to test was made from these inputs.
@Suite struct PreflightTests {
    let scratch: TemporaryDirectory
    var directory: String { scratch.path }

    init() throws {
        scratch = try TemporaryDirectory(prefix: "hallmark-preflight")
    }

    /// A recipe with one component made of `phases` (a TOE `phases:` list), its parameter `Mode` set to `mode`.
    func recipe(phases: String, mode: String = "0644") throws -> String {
        try scratch.write(
            "c.yaml",
            "name: c\nschemaVersion: 1.0\nparameters:\n  - Mode: {type: string, default: \"0600\"}\nphases:\n" + phases)
        return try scratch.write(
            "r.yaml",
            "name: r\nversion: 1.0.0\nparent: {debian: {suite: bookworm}}\ncomponents:\n  - path: c.yaml\n    parameters: {Mode: \"\(mode)\"}\n"
        )
    }

    func loadError(phases: String, mode: String = "0644") throws -> HallmarkError {
        let path = try recipe(phases: phases, mode: mode)
        return try #require(throws: HallmarkError.self) { try LoadedRecipe.load(path: path) }
    }

    static func bash(_ phase: String, _ step: String, _ command: String) -> String {
        "  - name: \(phase)\n    steps:\n      - name: \(step)\n        action: ExecuteBash\n        inputs:\n          commands: [\"\(command)\"]\n"
    }

    @Test(arguments: [
        (bash("build", "a", "echo {{ Missing }}"), "step 'a': undeclared reference '{{ Missing }}'; declared: Mode"),
        (bash("validate", "a", "echo {{ Mode"), "unclosed '{{' in 'echo {{ Mode'; a reference is '{{ name }}'"),
        (
            bash("build", "a", "echo {{ build.nosuchstep.outputs.stdout }}"),
            "step 'a': '{{ build.nosuchstep.outputs.stdout }}' chains to step 'nosuchstep' of phase 'build', which the document does not have"
        ),
        (bash("test", "a", "echo {{ Missing }}"), "step 'a': undeclared reference '{{ Missing }}'"),
        // The test phase runs in the guest: the build's outputs are not there.
        (
            bash("build", "a", "echo") + bash("test", "b", "echo {{ build.a.outputs.stdout }}"),
            "step 'b': '{{ build.a.outputs.stdout }}' chains to phase 'build', which the test phase cannot see"
        ),
    ])
    func templatesInEveryPhaseAreCheckedWhenLoaded(phases: String, expected: String) throws {
        let error = try loadError(phases: phases)
        #expect(error.code == .invalidInput)
        #expect(error.message.hasPrefix(expected), "\(error)")
        let line = phases.split(separator: "\n", omittingEmptySubsequences: false).lastIndex { $0.contains("{{") }! + 6
        #expect(error.location == SourceLocation(file: directory + "/c.yaml", line: line, column: 22), "\(error)")
    }

    /// The shipped CIS recipe with its components (the site's choices as parameters), policies and waivers.
    @Test func theCISRecipeLoadsWithItsRemediationComponents() throws {
        let loaded = try LoadedRecipe.load(path: Repository.root + "/recipes/debian-12-cis.yaml")
        let names = loaded.components.map(\.name)
        #expect(names.contains("cis-time") && names.contains("cis-aide"), "\(names)")
        #expect(names.firstIndex(of: "cis-aide")! < names.firstIndex(of: "image-hygiene")!)
        #expect(names.firstIndex(of: "cis-permissions")! < names.firstIndex(of: "cis-aide")!)
        let ssh = try #require(loaded.recipe.components.first { $0.path.hasSuffix("cis-ssh.yaml") })
        #expect(ssh.parameters["AllowGroups"] == "sudo")
        #expect(loaded.policies.contains { $0.id == "cis-debian12-level1" && $0.controls.contains { $0.id == "cis-ssh-access" } })
    }

    @Test func outputsOfEarlierStepsAndPhasesMayBeUsed() throws {
        let path = try recipe(
            phases: Self.bash("build", "a", "echo 1") + Self.bash("validate", "b", "echo {{ build.a.outputs.stdout }}")
                + Self.bash("test", "c", "echo")
                + "      - name: d\n        action: ExecuteBash\n        inputs: {commands: [\"echo {{ test.c.outputs.stdout }} {{ Mode }}\"]}\n"
        )
        #expect(try LoadedRecipe.load(path: path).components.count == 1)
    }

    @Test func aModeChmodWouldRefuseIsAnErrorWhetherWrittenOrAParameter() throws {
        let steps =
            "  - name: build\n    steps:\n      - name: p\n        action: SetFilePermissions\n        inputs:\n          - {path: /x, permissions: \"rwx\"}\n"
        let literal = try loadError(phases: steps)
        #expect(literal.message == "permissions must be an octal mode of three or four digits 0-7 (e.g. \"0644\"), got 'rwx'")
        #expect(literal.location == SourceLocation(file: directory + "/c.yaml", line: 11, column: 37), "\(literal)")

        let fromParameter = try loadError(phases: steps.replacingOccurrences(of: "rwx", with: "{{ Mode }}"), mode: "u+rwx")
        #expect(fromParameter.message.hasSuffix("got 'u+rwx'"), "\(fromParameter)")
        // A mode made from an earlier step's output is known only when that step has run.
        let fromOutput = try recipe(
            phases: Self.bash("build", "m", "echo 0600")
                + "      - name: p\n        action: SetFilePermissions\n        inputs: [{path: /x, permissions: \"{{ build.m.outputs.stdout }}\"}]\n"
        )
        #expect(try LoadedRecipe.load(path: fromOutput).components.count == 1)
    }

    // MARK: The signing key

    func pipeline(signingKey: String? = nil, reports: String? = nil) -> Pipeline {
        Pipeline(
            options: PipelineOptions(
                home: HallmarkHome(root: directory + "/home"), reportsDirectory: reports ?? directory + "/reports", accelerator: .tcg,
                gate: nil, signingKey: signingKey, console: Console(quiet: true)))
    }

    func minimalLoaded() throws -> LoadedRecipe {
        try LoadedRecipe.load(path: try recipe(phases: Self.bash("build", "a", "echo")))
    }

    @Test func theSigningKeyIsReadAndCheckedBeforeAnythingRuns() throws {
        let loaded = try minimalLoaded()
        try FileManager.default.createDirectory(atPath: directory + "/keydir", withIntermediateDirectories: true)
        let notAKey = try scratch.write("not-a-key.pem", "hello\n")
        chmod(notAKey, 0o600)
        let cases: [(String, String)] = [
            (directory + "/keydir", "is a directory; expected a readable PEM key file"),
            ("/dev/zero", "is a device, not a regular file; expected a readable PEM key file"),
            (directory + "/missing.pem", "no such file; expected a readable PEM key file"),
            (notAKey, "expected an Ed25519 private key (PKCS#8 PEM)"),
        ]
        for (path, expected) in cases {
            let error = try #require(throws: HallmarkError.self) { try pipeline(signingKey: path).checkTestInputs(loaded) }
            #expect(error.code == .invalidInput, "\(error)")
            #expect(error.message.contains(expected), "\(error)")
        }
        let files = try KeyFiles.generate(in: directory + "/keys")
        let key = try #require(try pipeline(signingKey: files.privateKeyPath).signingKey(for: loaded))
        #expect(key.keyID == files.keyID)
    }

    @Test func reportsPointingAtAFileIsAUsageError() throws {
        let loaded = try minimalLoaded()
        let file = try scratch.write("reports-file", "x")
        let error = try #require(throws: HallmarkError.self) { try pipeline(reports: file).checkTestInputs(loaded) }
        #expect(error.code == .usage)
        #expect(error.message == "--reports \(file) is a file, expected a directory")
        let under = try #require(throws: HallmarkError.self) { try pipeline(reports: file + "/sub").checkTestInputs(loaded) }
        #expect(under.code == .usage)
        #expect(under.message.hasPrefix("--reports \(file)/sub cannot be created"))
    }

    // MARK: The build a test boots

    func image(buildDigest: String?) -> ImageArtifacts {
        ImageArtifacts(
            name: "r", version: "1.0.0", build: 2, recipeDigest: "", builtAt: Date(), kernelVersion: "6.1", kernelCommandLine: "",
            files: [:], packages: [], steps: [], buildDigest: buildDigest)
    }

    @Test func aBuildOfOtherInputsIsRefusedWithBothDigests() throws {
        let loaded = try minimalLoaded()
        let current = loaded.recipe.buildDigest(components: loaded.components)
        #expect(try loaded.checkMadeFromThis(image(buildDigest: current)) == nil)

        // Another parameter, component text or package list gives another digest.
        try scratch.write(
            "r.yaml", try String(contentsOfFile: directory + "/r.yaml", encoding: .utf8).replacingOccurrences(of: "0644", with: "0640"))
        let edited = try LoadedRecipe.load(path: directory + "/r.yaml")
        let error = try #require(throws: HallmarkError.self) { try edited.checkMadeFromThis(image(buildDigest: current)) }
        #expect(error.code == .invalidInput)
        let now = edited.recipe.buildDigest(components: edited.components)
        #expect(now != current)
        #expect(error.message.contains("built from sha256 \(current), now sha256 \(now)"), "\(error)")
        #expect(error.message.hasPrefix("r 1.0.0/2 was built from other inputs"))
        #expect(error.location == SourceLocation(file: directory + "/r.yaml"))

        try scratch.write("c.yaml", try String(contentsOfFile: directory + "/c.yaml", encoding: .utf8) + "description: changed\n")
        let component = try LoadedRecipe.load(path: directory + "/r.yaml")
        #expect(component.recipe.buildDigest(components: component.components) != now)
    }

    @Test func theTestsSectionIsNotABuildInput() throws {
        let loaded = try minimalLoaded()
        let before = loaded.recipe.buildDigest(components: loaded.components)
        try scratch.write(
            "r.yaml", try String(contentsOfFile: directory + "/r.yaml", encoding: .utf8) + "tests: {gate: high, reboot: true}\n")
        let edited = try LoadedRecipe.load(path: directory + "/r.yaml")
        #expect(edited.recipe.buildDigest(components: edited.components) == before)
        #expect(edited.recipe.digest != loaded.recipe.digest)
    }

    @Test func anImageFromBeforeTheDigestIsTestedWithAWarning() throws {
        let loaded = try minimalLoaded()
        let warning = try loaded.checkMadeFromThis(image(buildDigest: nil))
        #expect(warning?.contains("does not record what it was built from") == true)
        let json =
            #"{"name":"r","version":"1.0.0","build":1,"recipeDigest":"x","builtAt":"2024-01-01T00:00:00Z","kernelVersion":"6.1","kernelCommandLine":"","files":{},"packages":[],"steps":[]}"#
        let old = try JSONDecoder.hallmark.decode(ImageArtifacts.self, from: Data(json.utf8))
        #expect(old.buildDigest == nil)
    }
}
