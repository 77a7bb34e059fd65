import ArgumentParser
import Compliance
import HallmarkModel
import HallmarkSupport
import Pipeline
import Testing

@testable import HallmarkCLI

/// The command line as the README documents it: what each command takes, and what it refuses.
@Suite struct CommandLineTests {
    /// Parses like `hallmark ARGS…`, validation included.
    func parse<Command: ParsableCommand>(_ arguments: [String], as type: Command.Type = Command.self) throws -> Command {
        let parsed = try HallmarkCommand.parseAsRoot(arguments)
        return try #require(parsed as? Command, "parsed as \(Swift.type(of: parsed))")
    }

    /// The message `hallmark ARGS…` prints when it refuses them, or nil when it parses.
    func refusal(_ arguments: [String]) -> String? {
        do {
            _ = try HallmarkCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return HallmarkCommand.message(for: error)
        }
    }

    @Test(arguments: [
        ["--gate", "high"], ["--signing-key", "k.pem"], ["--junit", "rich"], ["--accel", "tcg"], ["--keep-vm-on-failure"],
    ])
    func buildRefusesWhatOnlyATestUses(_ flags: [String]) throws {
        let message = try #require(refusal(["build", "r.yaml"] + flags))
        #expect(message.contains("Unknown option '\(flags[0])'"), "\(message)")
    }

    @Test func buildTakesItsDocumentedFlags() throws {
        let build = try parse(["build", "r.yaml", "--reports", "out", "--quiet"], as: BuildCommand.self)
        #expect(build.recipe == "r.yaml")
        #expect(build.output.reportsDirectory == "out")
        #expect(build.output.quiet)
    }

    @Test func runTakesItsDocumentedFlags() throws {
        let run = try parse(
            [
                "run", "a.yaml", "b.yaml", "--jobs", "2", "--reports", "out", "--accel", "tcg", "--gate", "high",
                "--signing-key", "k.pem", "--junit", "rich", "--keep-vm-on-failure", "--quiet",
            ], as: RunCommand.self)
        #expect(run.recipes == ["a.yaml", "b.yaml"])
        #expect(run.jobs == 2)
        #expect(run.output.reportsDirectory == "out" && run.output.quiet)
        #expect(run.machine.accel == .tcg && run.machine.keepVMOnFailure)
        #expect(run.evidence.gate == .high && run.evidence.signingKey == "k.pem" && run.evidence.junit == .rich)
    }

    @Test func testTakesItsDocumentedFlags() throws {
        let test = try parse(
            [
                "test", "r.yaml", "--build", "3", "--reports", "out", "--accel", "kvm", "--gate", "medium",
                "--signing-key", "k.pem", "--junit", "standard", "--keep-vm-on-failure", "-q",
            ], as: TestCommand.self)
        #expect(test.build == 3)
        #expect(test.output.reportsDirectory == "out" && test.output.quiet)
        #expect(test.machine.accel == .kvm && test.machine.keepVMOnFailure)
        #expect(test.evidence.gate == .medium && test.evidence.signingKey == "k.pem" && test.evidence.junit == .standard)
    }

    @Test func stageDefaults() throws {
        let test = try parse(["test", "r.yaml"], as: TestCommand.self)
        #expect(test.build == nil && test.output.reportsDirectory == "reports" && !test.output.quiet)
        #expect(test.machine.accel == .auto && !test.machine.keepVMOnFailure)
        #expect(test.evidence.gate == nil && test.evidence.signingKey == nil && test.evidence.junit == nil)
    }

    @Test func junitTakesOnlyItsFlavours() {
        #expect(refusal(["run", "r.yaml", "--junit", "fancy"])?.contains("fancy") == true)
        #expect(JUnitFlavour.allCases.map(\.rawValue) == ["standard", "rich"])
    }

    @Test func runNeedsARecipeAndAtLeastOneJob() {
        #expect(refusal(["run"])?.contains("Missing expected argument '<recipes> ...'") == true)
        #expect(refusal(["run", "r.yaml", "--jobs", "0"])?.contains("--jobs must be at least 1") == true)
    }

    @Test func policyCommandsTakeTheirDocumentedFlags() throws {
        let lint = try parse(["policy", "lint", "a.yaml", "b.yaml", "--var", "x=1", "--waivers", "w.yaml"], as: PolicyCommand.Lint.self)
        #expect(lint.files == ["a.yaml", "b.yaml"] && lint.options.variables == ["x=1"] && lint.options.waivers == "w.yaml")
        let facts = try parse(
            ["policy", "test", "a.yaml", "--facts", "facts.json", "--gate", "high", "--tag", "ssh", "--waivers", "w.yaml"],
            as: PolicyCommand.Test.self)
        #expect(facts.facts == "facts.json" && facts.rootfs == nil && facts.gate == .high && facts.tags == ["ssh"])
        let rootfs = try parse(["policy", "test", "a.yaml", "--rootfs", "/srv/tree", "--var", "x=1"], as: PolicyCommand.Test.self)
        #expect(rootfs.rootfs == "/srv/tree" && rootfs.options.variables == ["x=1"])
        let own = try parse(["policy", "test", "a.yaml"], as: PolicyCommand.Test.self)
        #expect(own.facts == nil && own.rootfs == nil && own.gate == .info)
    }

    @Test func policyTestRefusesFactsWithRootfs() {
        #expect(
            refusal(["policy", "test", "a.yaml", "--facts", "f.json", "--rootfs", "/srv/tree"]) == "give --facts or --rootfs, not both")
    }

    @Test func policyCommandsRefuseStageOptions() {
        #expect(refusal(["policy", "lint", "a.yaml", "--signing-key", "k.pem"])?.contains("Unknown option '--signing-key'") == true)
        #expect(refusal(["policy", "test", "a.yaml", "--junit", "rich"])?.contains("Unknown option '--junit'") == true)
    }

    @Test func shellAndStop() throws {
        let list = try parse(["shell"], as: ShellCommand.self)
        #expect(list.run == nil && list.command.isEmpty)
        let command = try parse(["shell", "Xy12ab", "--", "systemctl", "--failed"], as: ShellCommand.self)
        #expect(command.run == "Xy12ab" && command.command == ["systemctl", "--failed"])
        #expect(refusal(["shell", "--", "ls"]) == "name the kept VM to run the command in (`hallmark shell` lists them)")

        #expect(try parse(["stop", "Xy12ab"], as: StopCommand.self).run == "Xy12ab")
        #expect(try parse(["stop", "--all"], as: StopCommand.self).all)
        #expect(refusal(["stop"]) == "name one kept VM or pass --all")
        #expect(refusal(["stop", "Xy12ab", "--all"]) == "name one kept VM or pass --all")
        #expect(refusal(["stop", "Xy12ab", "--gate", "high"]) != nil)
    }

    @Test func keyGenerate() throws {
        #expect(try parse(["key", "generate", "--out", "keys"], as: KeyCommand.Generate.self).directory == "keys")
        #expect(refusal(["key", "generate"])?.contains("--out") == true)
    }

    @Test func verifyTakesItsDocumentedFlags() throws {
        let verify = try parse(
            [
                "verify", "report.dsse.json", "--key", "hallmark.pub", "--artifact", "disk.qcow2=/x/disk.qcow2", "--artifact", "vmlinuz",
                "--all-subjects", "--image", "debian-12-minimal", "--version", "1.0.0", "--build", "1", "--gate-covers", "high", "--json",
            ], as: VerifyCommand.self)
        #expect(verify.envelope == "report.dsse.json" && verify.publicKey == "hallmark.pub")
        #expect(verify.artifacts == ["disk.qcow2=/x/disk.qcow2", "vmlinuz"] && verify.allSubjects)
        #expect(verify.imageName == "debian-12-minimal" && verify.imageVersion == "1.0.0" && verify.imageBuild == 1)
        #expect(verify.gateCovers == .high && verify.json)
        #expect(try parse(["verify", "e.json", "--key", "k.pub", "--image-dir", "dir"], as: VerifyCommand.self).imageDirectory == "dir")
        #expect(try parse(["verify", "e.json", "--key", "k.pub", "--no-artifacts"], as: VerifyCommand.self).noArtifacts)
    }

    @Test func verifyRefusesConflictingFlags() {
        #expect(refusal(["verify", "e.json", "--key", "k.pub"])?.contains("pass --no-artifacts to check the envelope alone") == true)
        for extra in [["--artifact", "disk.qcow2"], ["--image-dir", "dir"], ["--all-subjects"]] {
            let message = refusal(["verify", "e.json", "--key", "k.pub", "--no-artifacts"] + extra)
            #expect(message == "--no-artifacts checks no file; drop it or drop --artifact, --image-dir and --all-subjects", "\(extra)")
        }
        #expect(
            refusal(["verify", "e.json", "--key", "k.pub", "--artifact", "disk.qcow2="]) == "--artifact disk.qcow2=: no file after the role"
        )
    }

    @Test func jsonOnEveryCommandThatPrintsResultsOrLists() throws {
        #expect(try parse(["policy", "lint", "a.yaml", "--json"], as: PolicyCommand.Lint.self).output.json)
        #expect(try parse(["policy", "test", "a.yaml", "--json"], as: PolicyCommand.Test.self).output.json)
        #expect(try parse(["shell", "--json"], as: ShellCommand.self).json)
        #expect(try parse(["stop", "--all", "--json"], as: StopCommand.self).output.json)
        #expect(try parse(["key", "generate", "--out", "k", "--json"], as: KeyCommand.Generate.self).output.json)
        // A guest command's output is the guest's: it has no JSON form.
        #expect(refusal(["shell", "Xy12ab", "--json", "--", "ls"]) == "--json lists kept VMs; drop it or drop the VM's id")
        #expect(refusal(["build", "r.yaml", "--json"])?.contains("Unknown option '--json'") == true)
    }
}

/// Library code names the kind of failure; the CLI alone picks the exit code the README documents.
@Suite struct ExitStatusTests {
    @Test func everyDomainCodeHasItsDocumentedExitCode() {
        let expected: [HallmarkError.Code: Int32] = [
            .usage: 64, .invalidInput: 65, .needsRoot: 77, .missingTool: 69, .buildFailed: 3, .machineFailed: 3,
            .hostFailure: 3, .interrupted: 130, .internalError: 70,
        ]
        #expect(Set(expected.keys) == Set(HallmarkError.Code.allCases))
        for (code, status) in expected { #expect(ExitStatus(code).rawValue == status, "\(code)") }
    }

    @Test func verdictsAreTheGate() {
        #expect(ExitStatus(Verdict.pass) == .gateOpen)
        #expect(ExitStatus(Verdict.fail) == .gateClosed)
        #expect(ExitStatus(Verdict.incomplete) == .notEvaluated)
    }

    @Test func severalRunsExitWithTheWorst() {
        #expect(ExitStatus.worst([.gateOpen, .notEvaluated, .gateClosed]) == .gateClosed)
        #expect(ExitStatus.worst([.gateOpen, .notEvaluated]) == .notEvaluated)
        #expect(ExitStatus.worst([.gateClosed, .invalidInput]) == .invalidInput)
        #expect(ExitStatus.worst([]) == .gateOpen)
    }

    @Test func anErrorShowsWhereAndWhy() {
        struct Refused: Error, CustomStringConvertible { var description: String { "permission denied" } }
        let error = HallmarkError(
            .invalidInput, "cannot read facts", at: SourceLocation(file: "f.json", line: 3, column: 1), cause: Refused())
        #expect(error.description == "f.json:3:1: cannot read facts: permission denied")
        #expect(HallmarkError.invalidInput("bad", at: SourceLocation(file: "r.yaml")).description == "r.yaml: bad")
        #expect(HallmarkError.infrastructure("QEMU died").code == .machineFailed)
    }

    @Test func versionIsTheReportsVersion() {
        #expect(HallmarkCommand.configuration.version == Pipeline.toolVersion)
        #expect(!Pipeline.toolVersion.isEmpty)
    }

    /// The help's exit-code list is ExitStatus's, so a new code cannot be left out of it.
    @Test func helpListsEveryExitCode() {
        let help = HallmarkCommand.helpMessage(columns: 80)
        for status in ExitStatus.allCases {
            #expect(help.contains(" \(status.rawValue) "), "hallmark --help does not list exit code \(status.rawValue)")
        }
        // Wrapped to the terminal: no line of any command's help is longer than the width asked for.
        let commands: [any ParsableCommand.Type] = [
            HallmarkCommand.self, RunCommand.self, BuildCommand.self, TestCommand.self, ShellCommand.self, StopCommand.self,
            PolicyCommand.Lint.self, PolicyCommand.Test.self, KeyCommand.Generate.self, VerifyCommand.self,
        ]
        for command in commands {
            // The usage line is the one ArgumentParser never wraps.
            let long = HallmarkCommand.helpMessage(for: command, columns: 80).split(separator: "\n")
                .filter { $0.count > 80 && !$0.hasPrefix("USAGE:") }
            #expect(long.isEmpty, "\(command): \(long)")
        }
    }
}
