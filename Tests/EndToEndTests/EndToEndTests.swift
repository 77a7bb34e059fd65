import Foundation
import HallmarkSupport
import ImageBuild
import ImageStore
import JUnitXML
import Testing

/// The real thing: the `hallmark` binary builds images with mmdebstrap, boots them in QEMU, checks
/// them through the guest agent and writes the evidence. Serialized: two TCG guests at once on a
/// two-core machine would only slow each other down.
@Suite(.serialized) struct EndToEndTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let hallmark = root + "/.build/debug/hallmark"
    /// The public JUnit schemas, when `.ci/run` hands their directory in (HALLMARK_JUNIT_SCHEMAS);
    /// without it junit.xml is still read back by junitparser, not validated against them.
    static let schemas = ProcessInfo.processInfo.environment["HALLMARK_JUNIT_SCHEMAS"].flatMap { $0.isEmpty ? nil : $0 }
        .map { ["\($0)/windyroad-JUnit.xsd", "\($0)/jenkins-junit-10.xsd"] } ?? []

    /// `make test` sets HALLMARK_HOME so the bootstrapped parent is shared by every test of the run.
    static let home = ProcessInfo.processInfo.environment["HALLMARK_HOME"] ?? root + "/.build/hallmark-test-home"

    struct Run {
        var status: Termination
        var output: String
        var reports: String
    }

    /// Runs the hallmark binary with output to a file; `whileRunning` may act on the live process.
    static func hallmark(_ arguments: [String], reports: String, passReports: Bool = true, environment: [String: String] = [:],
                         whileRunning: (@Sendable (ChildProcess, String) async throws -> Void)? = nil) async throws -> Run {
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let log = reports + "/hallmark-\(arguments[0])-\(UUID().uuidString.prefix(6)).out"
        let command = HostCommand(hallmark, arguments + (passReports ? ["--reports", reports] : []),
                                  environment: environment.merging(["HALLMARK_HOME": home]) { $1 })
        let child = try ChildProcess.spawn(command, outputPath: log)
        if let whileRunning { try await whileRunning(child, log) }
        let status = await child.wait()
        return Run(status: status, output: (try? String(contentsOfFile: log, encoding: .utf8)) ?? "", reports: reports)
    }

    /// Builds `recipe` unless an image of that name exists (when a test runs on its own).
    static func ensureBuilt(_ recipe: String, image: String, reports: String) async throws {
        guard !FileManager.default.fileExists(atPath: home + "/images/" + image) else { return }
        let build = try await hallmark(["build", recipe], reports: reports)
        try #require(build.status == .exited(0), "\(build.output)")
    }

    static func scratchReports() -> String {
        root + "/.build/e2e-reports/\(UUID().uuidString.prefix(8))"
    }

    static func report(_ run: Run, image: String) throws -> [String: Any] {
        let directory = try reportDirectory(run, image: image)
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func reportDirectory(_ run: Run, image: String) throws -> String {
        let builds = try FileManager.default.contentsOfDirectory(atPath: run.reports + "/" + image).sorted()
        return run.reports + "/\(image)/" + (try #require(builds.last))
    }

    /// QEMU processes started for this test home (sockets live in `$HALLMARK_HOME/run`), optionally
    /// only those of one image (`-name hallmark-<image>`).
    static func leftoverQEMU(named name: String? = nil) -> [String] {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.filter { Int($0) != nil }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            let matches = commandLine.contains(home) && (name.map { commandLine.contains("-name \($0) ") } ?? true)
            let executable = (commandLine.prefix { $0 != " " } as Substring).split(separator: "/").last ?? ""
            return executable.hasPrefix("qemu-system") && matches ? "\(pid): \(commandLine.prefix(120))" : nil
        }
    }

    static func runDirectories() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: home + "/run")) ?? []
    }

    /// The documented JSON Schema of report.json, checked with Python's jsonschema.
    static func validateAgainstReportSchema(_ path: String) async throws {
        let script = "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])), format_checker=jsonschema.FormatChecker())"
        _ = try await HostCommand("python3", ["-c", script, root + "/schemas/report.schema.json", path]).output()
    }

    static func validateJUnit(_ path: String) throws {
        for schema in schemas { try XMLSchemaValidator.validate(xmlFile: path, schemaFile: schema) }
    }

    @Test func defaultRecipePassesItsGateWithSignedEvidence() async throws {
        let reports = Self.scratchReports()
        let keys = try await Self.hallmark(["key", "generate", "--out", reports + "/keys"], reports: reports, passReports: false)
        try #require(keys.status == .exited(0), "\(keys.output)")
        let run = try await Self.hallmark(
            ["run", Self.root + "/Tests/Fixtures/minimal.yaml", "--signing-key", reports + "/keys/hallmark.key"], reports: reports)
        #expect(run.status == .exited(0), "\(run.output)")
        #expect(run.output.contains("gate open"))
        #expect(!run.output.contains("BEGIN PRIVATE KEY"))

        let report = try Self.report(run, image: "e2e-minimal")
        let gate = try #require(report["gate"] as? [String: Any])
        #expect(gate["verdict"] as? String == "pass")
        let controls = try #require(report["controls"] as? [[String: Any]])
        // 15 baseline controls plus one per component test phase.
        #expect(controls.count == 17)
        #expect(controls.allSatisfy { $0["result"] as? String == "pass" }, "\(controls.filter { $0["result"] as? String != "pass" })")
        let reboot = try #require(controls.first { $0["id"] as? String == "reboots-cleanly" })
        #expect((reboot["evidence"] as? String)?.contains("→") == true)

        let timings = try #require(report["timings"] as? [String: Double])
        for phase in ["bootstrap", "components", "disk", "boot", "checks", "reboot", "imageFacts"] {
            #expect(timings[phase] != nil, "no timing for \(phase)")
        }
        // Static facts come from the artifact itself, read on the host while the guest booted;
        // runtime facts from the guest. Each control says which.
        #expect((report["host"] as? [String: Any])?["staticFacts"] as? String == "image")
        let observedIn = { (id: String) in controls.first { $0["id"] as? String == id }?["observedIn"] as? [String] }
        #expect(observedIn("shadow-permissions") == ["image"])
        #expect(observedIn("sshd-permit-root-login") == ["image"])
        #expect(observedIn("boot-health") == ["guest"])
        #expect(observedIn("ip-forwarding-disabled") == ["guest"])
        let artifacts = try #require((report["image"] as? [String: Any])?["artifacts"] as? [[String: Any]])
        let disk = try #require(artifacts.first { $0["role"] as? String == "disk.qcow2" })
        #expect(disk["sha256"] as? String == disk["sha256AfterTest"] as? String)
        #expect(try await Digest.sha256(fileAt: disk["path"] as! String) == disk["sha256"] as? String)

        let directory = try Self.reportDirectory(run, image: "e2e-minimal")
        try await Self.validateAgainstReportSchema(directory + "/report.json")

        // The envelope covers the image that was tested, and only that image.
        let verify = try await Self.hallmark(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--artifact", disk["path"] as! String],
            reports: reports, passReports: false)
        #expect(verify.status == .exited(0), "\(verify.output)")
        let wrongArtifact = try await Self.hallmark(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--artifact", directory + "/junit.xml"],
            reports: reports, passReports: false)
        #expect(wrongArtifact.status == .exited(1))
        #expect(wrongArtifact.output.contains("verification failed: artifact"), "\(wrongArtifact.output)")
        // No file and no --no-artifacts: the envelope would be bound to nothing, so verify refuses.
        let unbound = try await Self.hallmark(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub"], reports: reports, passReports: false)
        #expect(unbound.status == .exited(64), "\(unbound.output)")
        let imageDirectory = ((disk["path"] as! String) as NSString).deletingLastPathComponent
        let wholeImage = try await Self.hallmark(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--image-dir", imageDirectory,
             "--all-subjects", "--image", "e2e-minimal", "--gate-covers", "critical"],
            reports: reports, passReports: false)
        #expect(wholeImage.status == .exited(0), "\(wholeImage.output)")
        #expect(wholeImage.output.contains("files match: disk.qcow2 = "), "\(wholeImage.output)")
        let otherImage = try await Self.hallmark(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--image-dir", imageDirectory, "--image", "other"],
            reports: reports, passReports: false)
        #expect(otherImage.status == .exited(1))
        try Self.validateJUnit(directory + "/junit.xml")
        let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        #expect(junit.components(separatedBy: "<testcase ").count - 1 == 17)
        #expect(!junit.contains("<failure"))
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("Gate open"))
        #expect(!html.contains("http://") && !html.contains("https://"), "report.html must not fetch anything")
        for file in ["facts.json", "collector.sh", "image-collector.sh", "summary.md", "console.log", "build.log", "report.dsse.json"] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "missing \(file)")
        }
        #expect(Self.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty)
    }

    /// Two recipes at once (`--jobs 2`), each in its own VM: the one that allows root logins fails on
    /// exactly that control, the other passes, and their reports stay apart.
    @Test func rootLoginClosesTheGateOnExactlyThatControl() async throws {
        let reports = Self.scratchReports()
        let run = try await Self.hallmark(
            ["run", "--jobs", "2", Self.root + "/Tests/Fixtures/root-login.yaml", Self.root + "/Tests/Fixtures/minimal.yaml"], reports: reports)
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("hallmark[e2e-root-login]: boot"))
        #expect(run.output.contains("hallmark[e2e-minimal]: boot"))
        let other = try Self.report(run, image: "e2e-minimal")
        #expect((other["gate"] as? [String: Any])?["verdict"] as? String == "pass")
        // Without a key the reports are written, and Hallmark says they are unsigned.
        #expect(run.output.contains("reports are unsigned"))

        let report = try Self.report(run, image: "e2e-root-login")
        #expect((report["gate"] as? [String: Any])?["verdict"] as? String == "fail")
        let controls = try #require(report["controls"] as? [[String: Any]])
        let failing = controls.filter { $0["result"] as? String != "pass" }.compactMap { $0["id"] as? String }
        #expect(failing == ["sshd-permit-root-login"])
        // This fixture asks for every fact in the guest (tests.static_facts: guest).
        #expect((report["host"] as? [String: Any])?["staticFacts"] as? String == "guest")
        #expect((report["host"] as? [String: Any])?["staticFactsNote"] as? String == "the recipe asks for every fact in the guest (tests.static_facts: guest)")
        #expect(controls.allSatisfy { ($0["observedIn"] as? [String]) == ["guest"] }, "\(controls.map { $0["observedIn"] ?? "-" })")

        let directory = try Self.reportDirectory(run, image: "e2e-root-login")
        #expect(!FileManager.default.fileExists(atPath: directory + "/report.dsse.json"))
        try Self.validateJUnit(directory + "/junit.xml")
        let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        let failures = junit.components(separatedBy: "<failure ").count - 1
        #expect(failures == 1)
        // A JUnit reader that CI tools use agrees on the counts.
        let reader = """
            import sys, junitparser
            xml = junitparser.JUnitXml.fromfile(sys.argv[1])
            print(sum(s.tests for s in xml), sum(s.failures for s in xml), sum(s.errors for s in xml), sum(s.skipped for s in xml))
            """
        let counts = try await HostCommand("python3", ["-c", reader, directory + "/junit.xml"]).output()
        #expect(counts.trimmingCharacters(in: .whitespacesAndNewlines) == "\(controls.count) 1 0 0")
        #expect(junit.contains("name=\"sshd-permit-root-login: SSH root login is disabled\""))
        #expect(junit.range(of: #"<testsuite [^>]*failures="1""#, options: .regularExpression) != nil)
        // The HTML report shows the verdict and lists the failing control first.
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("Gate closed"))
        let firstRow = try #require(html.range(of: #"data-result="[a-z]+""#, options: .regularExpression))
        #expect(html[firstRow] == #"data-result="fail""#)
        #expect(Self.leftoverQEMU(named: "hallmark-e2e-root-login").isEmpty)
    }

    /// A reader that goes away (`| head`, a killed CI step) must not kill Hallmark with SIGPIPE
    /// and orphan its QEMU: Hallmark finishes the test, and nothing is left running.
    @Test func closedOutputPipeDoesNotOrphanQEMU() async throws {
        let recipe = Self.root + "/Tests/Fixtures/minimal.yaml"
        let reports = Self.scratchReports()
        try await Self.ensureBuilt(recipe, image: "e2e-minimal", reports: reports)
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let pipeline = "\(shellQuoted(Self.hallmark)) test \(shellQuoted(recipe)) --reports \(shellQuoted(reports)) 2>&1 | head -n 1; exit ${PIPESTATUS[0]}"
        let child = try ChildProcess.spawn(HostCommand("/bin/bash", ["-c", pipeline], environment: ["HALLMARK_HOME": Self.home]),
                                           outputPath: reports + "/pipeline.out")
        let status = await child.wait()
        #expect(status == .exited(0), "\((try? String(contentsOfFile: reports + "/pipeline.out", encoding: .utf8)) ?? "")")
        #expect(Self.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty)
    }

    @Test func interruptDuringBootStopsQEMUAndExits130() async throws {
        let recipe = Self.root + "/Tests/Fixtures/minimal.yaml"
        let reports = Self.scratchReports()
        try await Self.ensureBuilt(recipe, image: "e2e-minimal", reports: reports)
        // Evidence an earlier test of the same build left must not survive next to an interrupted one.
        let image = try #require(try ImageStore(home: HallmarkHome(root: Self.home)).latest(name: "e2e-minimal", version: "1.0.0"))
        let evidence = reports + "/e2e-minimal/1.0.0-\(image.build)"
        try FileManager.default.createDirectory(atPath: evidence, withIntermediateDirectories: true)
        try "<testsuites/>".write(toFile: evidence + "/junit.xml", atomically: true, encoding: .utf8)
        // Other Hallmark runs may share this home (a developer's own); only this run's leftovers count.
        let directoriesBefore = Set(Self.runDirectories())
        let run = try await Self.hallmark(["test", recipe], reports: reports) { child, log in
            // Interrupt once QEMU is up and the guest is booting.
            let deadline = ContinuousClock.now + .seconds(120)
            var booting = false
            while ContinuousClock.now < deadline, !booting {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                booting = output.contains("boot e2e-minimal") && !Self.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty
                if !booting { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(booting, "QEMU never started, so the interrupt would prove nothing")
            try await Task.sleep(for: .milliseconds(Int.random(in: 500...4000)))
            child.signalGroup(SIGINT)
        }
        #expect(run.status == .exited(130), "\(run.output)")
        #expect(run.output.contains("interrupted"))
        #expect(Self.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty)
        #expect(Set(Self.runDirectories()).subtracting(directoriesBefore).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: evidence + "/junit.xml"), "a stale junit.xml survived the interrupted test")
    }

    /// A failed test can leave its VM running for debugging; `hallmark shell` reaches it through
    /// the guest channel its test used (here the agent) and `hallmark stop` ends it.
    @Test func keptVMCanBeInspectedAndStopped() async throws {
        let reports = Self.scratchReports()
        let recipe = Self.root + "/Tests/Fixtures/root-login.yaml"
        try await Self.ensureBuilt(recipe, image: "e2e-root-login", reports: reports)
        let run = try await Self.hallmark(["test", recipe, "--keep-vm-on-failure"], reports: reports)
        #expect(run.status == .exited(1), "\(run.output)")
        let idRange = try #require(run.output.range(of: #"hallmark shell ([A-Za-z0-9]+) -- "#, options: .regularExpression))
        let id = String(run.output[idRange].split(separator: " ")[2])
        #expect(!Self.leftoverQEMU(named: "hallmark-e2e-root-login").isEmpty, "the VM should still be running")

        let listing = try await Self.hallmark(["shell"], reports: reports, passReports: false)
        #expect(listing.output.contains(id))
        let shell = try await Self.hallmark(["shell", id, "--", "cat", "/etc/ssh/sshd_config.d/05-permit-root.conf"], reports: reports, passReports: false)
        #expect(shell.status == .exited(0), "\(shell.output)")
        #expect(shell.output.contains("PermitRootLogin yes"))
        let failing = try await Self.hallmark(["shell", id, "--", "exit", "7"], reports: reports, passReports: false)
        #expect(failing.status == .exited(7))

        let stop = try await Self.hallmark(["stop", id], reports: reports, passReports: false)
        #expect(stop.status == .exited(0), "\(stop.output)")
        #expect(Self.leftoverQEMU(named: "hallmark-e2e-root-login").isEmpty)
        #expect(!Self.runDirectories().contains(id))
    }

    /// An image built without qemu-guest-agent is still tested, through the console shell: every
    /// check runs, the reboot is seen, the only failure is the control that wants the agent, and
    /// `hallmark shell` reaches the kept VM through the same channel.
    /// This run also finds `mount` refusing (a host without loop devices, say), so the static facts
    /// that would be read from the artifact are collected in the guest instead, and the report says so.
    @Test func imageWithoutAgentIsTestedThroughTheConsoleShell() async throws {
        let reports = Self.scratchReports()
        let fakeTools = reports + "/fake-tools"
        try FileManager.default.createDirectory(atPath: fakeTools, withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'mount: permission denied (no loop devices here)' >&2\nexit 32\n"
            .write(toFile: fakeTools + "/mount", atomically: true, encoding: .utf8)
        chmod(fakeTools + "/mount", 0o755)
        let path = fakeTools + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        let run = try await Self.hallmark(["run", Self.root + "/Tests/Fixtures/no-agent.yaml", "--keep-vm-on-failure"], reports: reports,
                                          environment: ["PATH": path])
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("the image has no qemu-guest-agent; using the console shell"), "\(run.output)")
        #expect(run.output.contains("static facts were collected in the guest"), "\(run.output)")
        let report = try Self.report(run, image: "e2e-no-agent")
        let host = try #require(report["host"] as? [String: Any])
        #expect(host["guestChannel"] as? String == "console")
        #expect(host["staticFacts"] as? String == "guest")
        #expect((host["staticFactsNote"] as? String)?.contains("no loop devices here") == true, "\(host)")
        let controls = try #require(report["controls"] as? [[String: Any]])
        let failing = controls.filter { $0["result"] as? String != "pass" }.compactMap { $0["id"] as? String }
        #expect(failing == ["guest-agent-running"])
        #expect(controls.filter { $0["result"] as? String == "pass" }.count >= 14)
        #expect(controls.contains { $0["id"] as? String == "reboots-cleanly" && $0["result"] as? String == "pass" })

        let idRange = try #require(run.output.range(of: #"hallmark shell ([A-Za-z0-9]+) -- "#, options: .regularExpression))
        let id = String(run.output[idRange].split(separator: " ")[2])
        let shell = try await Self.hallmark(["shell", id, "--", "test ! -e /usr/sbin/qemu-ga && echo no agent here"], reports: reports, passReports: false)
        #expect(shell.status == .exited(0), "\(shell.output)")
        #expect(shell.output.contains("no agent here"))
        // Without a command, each line of stdin runs in turn.
        let script = "printf 'echo first line\\ncat /etc/hostname\\n' | \(shellQuoted(Self.hallmark)) shell \(id)"
        let child = try ChildProcess.spawn(HostCommand("/bin/bash", ["-c", script], environment: ["HALLMARK_HOME": Self.home]),
                                           outputPath: reports + "/stdin-shell.out")
        #expect(await child.wait() == .exited(0))
        let stdinOutput = try String(contentsOfFile: reports + "/stdin-shell.out", encoding: .utf8)
        #expect(stdinOutput.hasPrefix("first line\n") && stdinOutput.count > "first line\n".count, "\(stdinOutput)")

        let stop = try await Self.hallmark(["stop", "--all"], reports: reports, passReports: false)
        #expect(stop.status == .exited(0), "\(stop.output)")
        #expect(stop.output.contains("stopped \(id) (hallmark-e2e-no-agent)"), "\(stop.output)")
        #expect(Self.leftoverQEMU(named: "hallmark-e2e-no-agent").isEmpty)
        #expect(!Self.runDirectories().contains(id))
    }

    /// An image broken on purpose is flagged on exactly the controls it violates, and on no other.
    @Test func deliberateViolationsAreFlaggedExactly() async throws {
        let run = try await Self.hallmark(["run", Self.root + "/Tests/Fixtures/violations.yaml"], reports: Self.scratchReports())
        #expect(run.status == .exited(1), "\(run.output)")
        let report = try Self.report(run, image: "e2e-violations")
        #expect((report["host"] as? [String: Any])?["guestChannel"] as? String == "console")
        #expect((report["host"] as? [String: Any])?["staticFacts"] as? String == "image")
        let controls = try #require(report["controls"] as? [[String: Any]])
        let flagged = Set(controls.filter { $0["result"] as? String != "pass" }.compactMap { $0["id"] as? String })
        let expected = Set(try String(contentsOfFile: Self.root + "/Tests/Fixtures/violations-expected.txt", encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") })
        #expect(expected.count >= 15)
        #expect(flagged == expected, "unexpected: \(flagged.subtracting(expected).sorted()), missed: \(expected.subtracting(flagged).sorted())")
        #expect(controls.filter { $0["result"] as? String == "fail" }.count == expected.count)
    }

    /// The CIS recipe's components remediate every applicable Level 1 control.
    @Test func cisRecipePassesItsGate() async throws {
        let run = try await Self.hallmark(["run", Self.root + "/recipes/debian-12-cis.yaml"], reports: Self.scratchReports())
        #expect(run.status == .exited(0), "\(run.output)")
        let report = try Self.report(run, image: "debian-12-cis")
        let controls = try #require(report["controls"] as? [[String: Any]])
        #expect(controls.filter { $0["policy"] as? String == "cis-debian12-level1" }.count >= 60)
        let failing = controls.filter { ["fail", "error", "notchecked"].contains($0["result"] as? String ?? "") }
        #expect(failing.isEmpty, "\(failing.map { "\($0["id"]!): \($0["message"]!)" })")
    }

    @Test func invalidRecipeStopsBeforeAnythingRunsWithItsPosition() async throws {
        let reports = Self.scratchReports()
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let recipe = reports + "/bad.yaml"
        try "name: bad\nversion: 1.0.0\nparent:\n  debian:\n    suite: bookworm\n    pakages: [vim]\n".write(toFile: recipe, atomically: true, encoding: .utf8)
        let run = try await Self.hallmark(["run", recipe], reports: reports)
        #expect(run.status == .exited(65))
        #expect(run.output.contains("\(recipe):6:5: unknown key 'pakages'"), "\(run.output)")
    }
}
