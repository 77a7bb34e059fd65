import Attestation
import Compliance
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageBuild
import ImageFacts
import JUnitXML
import Synchronization
import VirtualMachine

/// Settings shared by the stages, from the command line.
public struct PipelineOptions: Sendable {
    public var home: HallmarkHome
    public var reportsDirectory: String
    public var accelerator: AcceleratorProbe.Choice
    /// Overrides the recipe's gate threshold when set.
    public var gate: Severity?
    /// PKCS#8 PEM Ed25519 key that signs report.dsse.json (`--signing-key`); when nil, the recipe's
    /// `evidence.signing_key`, then `$HALLMARK_SIGNING_KEY`; with none, reports are unsigned.
    public var signingKey: String?
    /// `--junit`; when nil, the recipe's `evidence.junit`, else standard. `standard` validates against
    /// both JUnit schemas; `rich` adds per-testcase properties and file/line.
    public var junitFlavour: JUnitFlavour?
    /// Leave the test VM running when the test fails, for `hallmark shell` and `hallmark stop`.
    public var keepVMOnFailure = false
    public var console: Console

    public init(home: HallmarkHome, reportsDirectory: String, accelerator: AcceleratorProbe.Choice, gate: Severity?,
                signingKey: String?, console: Console) {
        self.home = home
        self.reportsDirectory = reportsDirectory
        self.accelerator = accelerator
        self.gate = gate
        self.signingKey = signingKey
        self.console = console
    }
}

/// A recipe with everything it refers to, loaded and validated before anything is built or booted.
public struct LoadedRecipe: Sendable {
    public var recipe: Recipe
    public var components: [Component]
    public var policies: [Policy]
    public var waivers: Waivers?

    public static func load(path: String) throws -> LoadedRecipe {
        let recipe = try Recipe.load(path: path)
        let components = try recipe.components.map { try Component.load(path: $0.path) }
        for (component, reference) in zip(components, recipe.components) {
            do {
                _ = try ComponentRunner(component: component, parameters: reference.parameters, log: { _ in }).variables()
            } catch let error as HallmarkError {
                throw HallmarkError.invalidInput(error.message, at: reference.location)
            }
        }
        let policies: [Policy]
        do {
            policies = try Policy.loadAll(paths: recipe.tests.policies, variables: recipe.tests.variables)
        } catch let error as HallmarkError where error.location == nil {
            throw HallmarkError.invalidInput(error.message, at: recipe.tests.variablesLocation ?? SourceLocation(file: recipe.path))
        }
        // A malformed waiver file, or one naming an unknown control, stops the run before anything boots.
        let waivers = try recipe.tests.waivers.map { try Waivers.load(path: $0) }
        try waivers?.validate(against: policies.flatMap { $0.controls.map(\.id) })
        return LoadedRecipe(recipe: recipe, components: components, policies: policies, waivers: waivers)
    }

    var inputFiles: [AuditReport.InputFile] {
        [AuditReport.InputFile(kind: "recipe", path: recipe.path, sha256: recipe.digest)]
            + components.map { AuditReport.InputFile(kind: "component", path: $0.path, sha256: $0.digest) }
            + policies.flatMap(\.sources).map { AuditReport.InputFile(kind: "policy", path: $0.path, sha256: $0.sha256) }
            + (waivers.map { [AuditReport.InputFile(kind: "waivers", path: $0.path, sha256: $0.digest)] } ?? [])
    }

    /// Every policy's results for one boot's facts, with the waivers applied.
    func evaluate(_ facts: Facts, today: Date) -> [ControlResult] {
        policies.flatMap { policy in
            waivers.map { Evaluator.evaluate(policy, facts: facts, waivers: $0, today: today) } ?? Evaluator.evaluate(policy, facts: facts)
        }
    }
}

/// What a test run produced.
public struct TestOutcome: Sendable {
    public var report: AuditReport
    public var reportDirectory: String
    public var signed: Bool

    public var exitStatus: ExitStatus {
        switch report.gate.verdict {
        case .pass: return .gateOpen
        case .fail: return .gateClosed
        case .incomplete: return .notEvaluated
        }
    }
}

/// Chains the stages: build → boot → facts → evaluate → report.
public struct Pipeline: Sendable {
    public static let toolVersion = "0.1.0"
    public var options: PipelineOptions

    public init(options: PipelineOptions) {
        self.options = options
    }

    func reportDirectory(for recipe: Recipe, build: Int) throws -> String {
        let path = options.reportsDirectory + "/\(recipe.name)/\(recipe.version)-\(build)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `hallmark build`: builds the next build number of the recipe.
    public func build(_ loaded: LoadedRecipe) async throws -> (ImageArtifacts, BuildTimings, String) {
        let store = ImageStore(home: options.home)
        let build = try store.reserveNextBuild(name: loaded.recipe.name, version: loaded.recipe.version.description)
        let reports = try reportDirectory(for: loaded.recipe, build: build)
        options.console.info("building \(loaded.recipe.name) \(loaded.recipe.version)/\(build) (log: \(reports)/build.log)")
        let builder = ImageBuilder(home: options.home, console: options.console)
        let (artifacts, timings) = try await builder.build(loaded.recipe, components: loaded.components, build: build, logPath: reports + "/build.log")
        options.console.info("image stored in \(artifacts.directory)")
        return (artifacts, timings, reports)
    }

    /// `hallmark run`: build, then test.
    public func run(_ loaded: LoadedRecipe) async throws -> TestOutcome {
        let (artifacts, timings, _) = try await build(loaded)
        let buildTimings = ["bootstrap": timings.bootstrap, "components": timings.components, "disk": timings.disk]
        return try await test(loaded, image: artifacts, buildTimings: buildTimings)
    }

    /// `hallmark test`: boots the image on a throw-away overlay, runs the components' test phases,
    /// reboots, collects facts in one round trip, evaluates the policies and writes the evidence.
    public func test(_ loaded: LoadedRecipe, image: ImageArtifacts, buildTimings: [String: Double] = [:]) async throws -> TestOutcome {
        let startedAt = Date()
        // A bad key must stop the run before the boot, not after it; the key itself is held only
        // while signing, once the VM is gone and no image or policy code runs any more.
        let environmentKey = ProcessInfo.processInfo.environment["HALLMARK_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : absolutePath($0) }
        let signingKeyPath = options.signingKey ?? loaded.recipe.evidence.signingKey ?? environmentKey
        let signingKeyID = try signingKeyPath.map { try SigningKey(pemFile: $0, warn: options.console.warning).publicKey.keyID }
        let junitFlavour = options.junitFlavour ?? (loaded.recipe.evidence.junit == "rich" ? .rich : .standard)
        let reports = try reportDirectory(for: loaded.recipe, build: image.build)
        // An earlier test of this build left its evidence here; if this one is interrupted, none of
        // it may sit next to (or be taken for) this test's results.
        for name in Self.evidenceFiles { try? FileManager.default.removeItem(atPath: reports + "/" + name) }
        var timings = buildTimings
        // Controls waived with mode "skip" are not even collected.
        let allControls = loaded.policies.flatMap(\.controls)
        let controls = loaded.waivers?.controlsToEvaluate(allControls, on: startedAt) ?? allControls
        let testedDisk = image.bootDisk
        let digestsBefore = try await artifactDigests(image)

        let accelerator = try await AcceleratorProbe(home: options.home, console: options.console)
            .resolve(options.accelerator, kernel: image.path("vmlinuz")!)
        let session = try await bootAndCollect(loaded, image: image, controls: controls, accelerator: accelerator,
                                               consoleLog: reports + "/console.log", timings: &timings)

        // The artifact must be byte-for-byte what was built: tests only ever wrote to the overlay.
        let digestAfter = try await Digest.sha256(fileAt: testedDisk.path)
        let factsData = try JSONEncoder.hallmark.encode(session.facts)

        var results = session.componentTests + loaded.evaluate(session.facts, today: startedAt)
        var forced: Verdict?
        if digestAfter != digestsBefore.first(where: { $0.path == testedDisk.path })?.sha256 {
            forced = .fail
            results = results.map { var result = $0; result.message += " (artifact changed during test)"; return result }
        }
        let threshold = options.gate ?? loaded.recipe.tests.gate
        let report = AuditReport(
            tool: .init(version: Self.toolVersion),
            image: .init(name: image.name, version: image.version, build: image.build, artifacts: digestsBefore.map { artifact in
                var artifact = artifact
                if artifact.path == testedDisk.path { artifact.sha256AfterTest = digestAfter }
                return artifact
            }),
            host: .init(hostname: ProcessInfo.processInfo.hostName, qemuVersion: session.qemuVersion, accelerator: accelerator.rawValue,
                        qemuCommandLine: session.qemuCommandLine, guestChannel: session.guestChannel,
                        guestChannelNote: session.guestChannelNote, staticFacts: session.staticFacts?.rawValue,
                        staticFactsNote: session.staticFactsNote),
            inputs: loaded.inputFiles, timings: timings, results: results, threshold: threshold,
            startedAt: startedAt, finishedAt: Date(), factsSHA256: Digest.sha256(factsData), forcedVerdict: forced)
        // The set is written aside and published in one step: an interrupt never leaves a
        // report or an all-green junit.xml without the rest (the envelope above all).
        let staging = try StagedDirectory(replacing: reports)
        defer { staging.discard() }
        try factsData.write(to: URL(fileURLWithPath: staging.path + "/facts.json"))
        // Exactly what ran in the guest and against the artifact to observe those facts, for whoever reviews the evidence.
        try session.collectorScript.write(toFile: staging.path + "/collector.sh", atomically: false, encoding: .utf8)
        if let script = session.imageCollectorScript {
            try script.write(toFile: staging.path + "/image-collector.sh", atomically: false, encoding: .utf8)
        }
        try writeEvidence(report, to: staging.path, junit: junitFlavour)
        let signingKey = try signingKeyPath.map { path in
            let key = try SigningKey(pemFile: path, warn: { _ in })
            guard key.publicKey.keyID == signingKeyID else {
                throw HallmarkError(.invalidInput, "\(path) holds another key than when the test started; nothing was signed")
            }
            return key
        }
        try sign(report, in: staging.path, with: signingKey)
        try staging.publish(fileSet: Set(Self.evidenceFiles))
        return TestOutcome(report: report, reportDirectory: reports, signed: signingKey != nil)
    }

    struct BootSession: Sendable {
        var facts: Facts
        var qemuVersion: String
        var componentTests: [ControlResult]
        var qemuCommandLine: String
        var collectorScript: String
        /// What ran against the disk artifact, when static facts were read from it.
        var imageCollectorScript: String?
        var guestChannel: String?
        var guestChannelNote: String?
        /// nil when no control needed a static fact.
        var staticFacts: Recipe.StaticFactsLocation?
        var staticFactsNote: String?
    }

    /// Static facts read from the disk artifact on the host, while the guest boots.
    struct ImageFactsOutcome: Sendable {
        var plan: CollectorPlan
        var outputs: Result<[String: ProbeOutput], any Error>
        var seconds: Double
    }

    /// Starts reading the static probes from the disk artifact, or returns nil when the recipe
    /// asks for them in the guest (or no control needs one).
    func startImageCollection(_ imageProbes: [Probe], image: ImageArtifacts, setting: Recipe.StaticFactsLocation,
                              environment: [String: String], scratch: String) -> Task<ImageFactsOutcome, Never>? {
        guard setting == .image, !imageProbes.isEmpty else { return nil }
        let plan = CollectorPlan(probes: imageProbes, lanes: 2, environment: environment)
        // The disk the VM boots: the one whose sha256 is checked again after the test.
        let disk = image.bootDisk
        return Task {
            let start = ContinuousClock.now
            let outputs: Result<[String: ProbeOutput], any Error>
            do {
                outputs = .success(try await ImageCollector(scratch: scratch).collect(plan, from: .disk(path: disk.path, format: disk.format)))
            } catch {
                outputs = .failure(error)
            }
            // The raw copy of a qcow2 disk is as large as the filesystem's data: gone as soon as it is read.
            try? FileManager.default.removeItem(atPath: scratch)
            return ImageFactsOutcome(plan: plan, outputs: outputs, seconds: (ContinuousClock.now - start).seconds)
        }
    }

    func bootAndCollect(_ loaded: LoadedRecipe, image: ImageArtifacts, controls: [Control], accelerator: Accelerator,
                        consoleLog: String, timings: inout [String: Double]) async throws -> BootSession {
        let scale = accelerator.timeoutScale
        let agentTimeout = Duration.seconds(60 * scale)
        let runDirectory = try options.home.makeScratchDirectory(under: options.home.run, prefix: "")
        ChildRegistry.shared.addDirectory(runDirectory)
        let kept = KeptFlag()
        defer {
            if !kept.value { try? FileManager.default.removeItem(atPath: runDirectory) }
            ChildRegistry.shared.removeDirectory(runDirectory)
        }
        let overlay = runDirectory + "/overlay.qcow2"
        let disk = image.bootDisk
        try await HostCommand("qemu-img", ["create", "-q", "-f", "qcow2", "-F", disk.format, "-b", disk.path, overlay]).run()
        try? FileManager.default.removeItem(atPath: consoleLog)
        let configuration = MachineConfiguration(
            name: "hallmark-\(image.name)", kernel: image.path("vmlinuz")!, initrd: image.path("initrd.img")!,
            kernelCommandLine: image.kernelCommandLine, disk: overlay, diskFormat: "qcow2",
            accelerator: accelerator, runDirectory: runDirectory, consoleLog: consoleLog, channel: .init(loaded.recipe.tests.channel))
        let console = options.console
        let recipe = loaded.recipe
        // Given to checks as HALLMARK_TEST_STARTED: what the guest wrote after it was made during the test.
        let startedAt = Int(Date().timeIntervalSince1970)
        let environment = ["HALLMARK_TEST_STARTED": String(startedAt)]
        let probes = Collector.probes(for: controls)
        let (imageProbes, runtimeProbes) = Collector.split(probes)
        let imageCollection = startImageCollection(imageProbes, image: image, setting: recipe.tests.staticFacts, environment: environment,
                                                   scratch: runDirectory + "/image-facts")

        var phaseTimes: [String: Double] = [:]
        // Boot time runs from QEMU's launch to the guest channel's first answer, comparable to a bare
        // launch (the artifact's reading runs beside it, at a lower priority).
        let launch = ContinuousClock.now
        let keepOnFailure = options.keepVMOnFailure
        let threshold = options.gate ?? recipe.tests.gate
        let keepRunning: @Sendable (Result<BootSession, any Error>) -> Bool = { result in
            guard keepOnFailure else { return false }
            let failed: Bool
            switch result {
            case .failure: failed = true
            case .success(let session):
                let results = session.componentTests + loaded.evaluate(session.facts, today: Date())
                failed = Evaluator.verdict(results, threshold: threshold) != .pass
            }
            if failed {
                kept.value = true
                let id = (runDirectory as NSString).lastPathComponent
                console.warning("""
                    the test failed; its VM is still running (--keep-vm-on-failure):
                      hallmark shell \(id) -- systemctl --failed     # run a command in it
                      hallmark shell \(id)                           # one command per line from stdin
                      hallmark stop \(id)                            # end it
                    """)
            }
            return failed
        }
        let session: BootSession
        do {
            session = try await VirtualMachine.with(configuration, keepRunning: keepRunning) { machine -> BootSession in
                var times: [String: Double] = [:]
                _ = try await console.step("boot \(image.reference) (\(accelerator.rawValue))") {
                    _ = try await machine.waitForGuest(timeout: agentTimeout)
                }
                times["boot"] = (ContinuousClock.now - launch).seconds
                if let note = await machine.channelNote { console.warning(note) }
                let channel = await machine.channelKind
                // The agent answers early in boot, before services such as ssh are up: let systemd
                // finish first, so test phases and checks see the booted system, not a booting one.
                var (systemState, settleTime) = try await console.step("wait for systemd to finish booting") {
                    try await Self.settle(machine, scale: scale)
                }
                times["settle"] = settleTime.seconds

                let executor = GuestExecutor(machine: machine, rebootTimeout: agentTimeout)
                let (componentTests, testPhaseTime) = try await console.step("run components' test phases in the guest") { () -> [ControlResult] in
                    var results: [ControlResult] = []
                    for (component, reference) in zip(loaded.components, recipe.components) where component.phase(.test) != nil {
                        var outputs: [String: String] = [:]
                        var failure: String?
                        do {
                            _ = try await ComponentRunner(component: component, parameters: reference.parameters, log: { _ in })
                                .run(.test, on: executor, outputs: &outputs)
                        } catch let error as ComponentStepFailure {
                            failure = error.message
                        }
                        results.append(Evaluator.componentTestResult(component: component.name, path: component.path, failure: failure))
                    }
                    return results
                }
                times["componentTests"] = testPhaseTime.seconds

                var reboot: RebootFact?
                if recipe.tests.reboot {
                    let (fact, rebootTime) = try await console.step("reboot and wait for a new boot_id") { () -> RebootFact in
                        do {
                            let result = try await machine.reboot(timeout: agentTimeout)
                            return RebootFact(bootIDBefore: result.before, bootIDAfter: result.after, secondsToReturn: result.seconds, failure: nil)
                        } catch let error as HallmarkError {
                            return RebootFact(bootIDBefore: "", bootIDAfter: nil, secondsToReturn: nil, failure: error.message)
                        }
                    }
                    times["reboot"] = rebootTime.seconds
                    reboot = fact
                    if fact.failure == nil {
                        (systemState, settleTime) = try await console.step("wait for systemd to finish booting again") {
                            try await Self.settle(machine, scale: scale)
                        }
                        times["settleAfterReboot"] = settleTime.seconds
                    }
                }

                let label = "collect facts for \(controls.count) control(s) in one guest round trip"
                let (collected, checkTime) = try await console.step(label) {
                    try await collectFacts(in: machine, probes: probes, runtimeProbes: runtimeProbes, imageCollection: imageCollection,
                                           setting: imageProbes.isEmpty ? nil : recipe.tests.staticFacts, lanes: configuration.cpus,
                                           environment: environment, timeout: .seconds(120 * scale))
                }
                var facts = collected.facts
                facts.probes[Collector.systemStateKey] = systemState
                facts.reboot = reboot
                times["checks"] = checkTime.seconds
                times["imageFacts"] = collected.imageSeconds
                phaseTimes = times
                return BootSession(facts: facts, qemuVersion: await machine.qemuVersion, componentTests: componentTests,
                                   qemuCommandLine: configuration.qemuCommand.description, collectorScript: collected.guestScript,
                                   imageCollectorScript: collected.imageScript,
                                   guestChannel: channel?.rawValue, guestChannelNote: await machine.channelNote,
                                   staticFacts: collected.staticFacts, staticFactsNote: collected.staticFactsNote)
            }
        } catch {
            // A failed boot ends the artifact's reading too: a cancelled wait kills its processes.
            imageCollection?.cancel()
            _ = await imageCollection?.value
            throw error
        }
        timings.merge(phaseTimes) { $1 }
        return session
    }

    struct CollectedFacts {
        var facts: Facts
        var guestScript: String
        /// What ran against the artifact, when its static facts were used.
        var imageScript: String?
        var imageSeconds: Double?
        /// Where the static facts were read; nil when no control needed one.
        var staticFacts: Recipe.StaticFactsLocation?
        /// Why they were read in the guest.
        var staticFactsNote: String?
    }

    /// The boot's facts: the static ones from the artifact's reading (started before the boot),
    /// the rest (everything, when the artifact could not be read) in one guest round trip.
    /// `setting` is the recipe's choice, nil when no control needs a static fact.
    func collectFacts(in machine: VirtualMachine, probes: [Probe], runtimeProbes: [Probe], imageCollection: Task<ImageFactsOutcome, Never>?,
                      setting: Recipe.StaticFactsLocation?, lanes: Int, environment: [String: String], timeout: Duration) async throws -> CollectedFacts {
        var imageOutputs: [String: ProbeOutput] = [:]
        var guestProbes = probes
        var collected = CollectedFacts(facts: Facts(source: .guest), guestScript: "")
        if setting != nil { collected.staticFacts = .guest }
        if setting == .guest { collected.staticFactsNote = "the recipe asks for every fact in the guest (tests.static_facts: guest)" }
        if let imageCollection {
            let outcome = await withTaskCancellationHandler { await imageCollection.value } onCancel: { imageCollection.cancel() }
            try Task.checkCancellation()
            collected.imageSeconds = outcome.seconds
            switch outcome.outputs {
            case .success(let outputs):
                imageOutputs = outputs
                guestProbes = runtimeProbes
                collected.staticFacts = .image
                collected.imageScript = outcome.plan.script
                options.console.info(String(format: "%d static probe(s) were read from the disk artifact in %.1fs, during the boot",
                                            outputs.count, outcome.seconds))
            case .failure(let error):
                let note = "the disk artifact could not be read on the host, so static facts were collected in the guest: "
                    + ((error as? HallmarkError)?.message ?? "\(error)")
                collected.staticFactsNote = note
                options.console.warning(note)
            }
        }
        let plan = CollectorPlan(probes: guestProbes, lanes: lanes, environment: environment)
        // On standard input: the script's frame boundary must not show in any guest process's argv.
        let result = try await machine.exec(CollectorPlan.command, stdin: plan.stdin, label: "the fact collector", timeout: timeout)
        guard result.exitCode == 0 else {
            throw HallmarkError.infrastructure("the fact collector failed in the guest (exit \(result.exitCode.map(String.init) ?? "signal")): \(result.stderrText.prefix(500))")
        }
        collected.facts.probes = try plan.parse(result.stdoutText).merging(imageOutputs) { guest, _ in guest }
        collected.facts.probeSources = imageOutputs.isEmpty ? nil : imageOutputs.mapValues { _ in .image }
        collected.guestScript = plan.script
        return collected
    }

    /// Waits until systemd has finished starting units (`systemctl is-system-running --wait`) and
    /// returns what it printed and its exit code: the state boot health reports.
    static func settle(_ machine: VirtualMachine, scale: Double) async throws -> ProbeOutput {
        let result = try await machine.exec("timeout \(Int(120 * scale)) systemctl is-system-running --wait",
                                            label: "systemctl is-system-running --wait", timeout: .seconds(130 * scale))
        return ProbeOutput(exitCode: result.exitCode ?? -1, stdout: result.stdoutText, stderr: result.stderrText)
    }

    func artifactDigests(_ image: ImageArtifacts) async throws -> [AuditReport.Artifact] {
        var artifacts: [AuditReport.Artifact] = []
        for role in image.files.keys.sorted() {
            let path = image.path(role)!
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
            artifacts.append(AuditReport.Artifact(role: role, path: path, sha256: try await Digest.sha256(fileAt: path), sizeBytes: size))
        }
        return artifacts
    }

    /// Writes report.dsse.json: an in-toto statement whose subjects are the image's artifacts and
    /// whose predicate is exactly the report.json just written. Without a key, says so; the set
    /// is then published without an envelope, so none from an earlier test survives it.
    func sign(_ report: AuditReport, in directory: String, with key: SigningKey?) throws {
        let envelopePath = directory + "/report.dsse.json"
        guard let key else {
            options.console.warning("reports are unsigned: pass --signing-key, set evidence.signing_key in the recipe or HALLMARK_SIGNING_KEY to sign them")
            return
        }
        let reportJSON = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.json"))
        let subjects = report.image.artifacts.map { Subject(name: "\(report.image.name)-\(report.image.version)-\(report.image.build)/\($0.role)", sha256: $0.sha256) }
        let envelope = try Attestation.signReport(reportJSON: reportJSON, subjects: subjects, key: key)
        try envelope.write(to: URL(fileURLWithPath: envelopePath), options: .atomic)
        options.console.info("signed report.dsse.json with key \(key.publicKey.keyID.prefix(16))…")
    }

    /// What a test writes into its report directory (build.log and console.log aside).
    static let evidenceFiles = ["report.json", "junit.xml", "summary.md", "report.html", "facts.json", "collector.sh", "image-collector.sh",
                                "report.dsse.json"]

    /// Writes the reports into `directory`, a staging directory that `StagedDirectory` publishes.
    func writeEvidence(_ report: AuditReport, to directory: String, junit flavour: JUnitFlavour) throws {
        try report.write(to: directory + "/report.json")
        let junit = JUnitExport.report(report, hostname: report.host.hostname)
        try JUnitWriter.write(junit, to: directory + "/junit.xml", flavour: flavour)
        try MarkdownSummary.render(report).write(toFile: directory + "/summary.md", atomically: true, encoding: .utf8)
        try HTMLReport.render(report).write(toFile: directory + "/report.html", atomically: true, encoding: .utf8)
    }
}

/// Set from the keep-running decision, read by the run directory's cleanup.
final class KeptFlag: Sendable {
    private let state = Mutex(false)

    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}

/// Runs component test-phase steps in the booted guest through the guest channel.
struct GuestExecutor: StepExecutor {
    var machine: VirtualMachine
    var rebootTimeout: Duration

    func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
        let result = try await machine.exec("bash -c \(shellQuoted(bashScript))", timeout: timeout)
        return StepOutput(exitCode: result.exitCode ?? (128 + (result.signal ?? 9)), stdout: result.stdoutText, stderr: result.stderrText)
    }

    func reboot() async throws {
        _ = try await machine.reboot(timeout: rebootTimeout)
    }
}
