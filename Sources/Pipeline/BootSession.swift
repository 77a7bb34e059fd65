import Compliance
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageBuild
import ImageStore
import Synchronization
import VirtualMachine

/// One boot of the image under test, from QEMU's launch to its teardown: boot, let systemd settle,
/// run the components' test phases, reboot, collect the facts and evaluate the policies, all while
/// the VM runs, so the decision to keep a failed VM uses the very results the report shows.
struct BootSession: Sendable {
    var loaded: LoadedRecipe
    var image: ImageArtifacts
    var accelerator: Accelerator
    var controls: [Control]
    /// When the test started: the day waivers are judged against.
    var startedAt: Date
    var threshold: Severity
    var keepVMOnFailure: Bool
    var home: HallmarkHome
    var console: Console

    /// What the boot observed and what the policies made of it.
    struct Observation: Sendable {
        var facts: Facts
        /// The components' test phases' results, then every control's.
        var results: [ControlResult]
        var verdict: Verdict
        var qemuVersion: String
        var qemuCommandLine: String
        var collectorScript: String
        /// What ran against the disk artifact, when static facts were read from it.
        var imageCollectorScript: String?
        var guestChannel: String?
        var guestChannelNote: String?
        var staticFacts: FactCollection.StaticFactsSource
        var timings: StageTimings
        /// Where each boot's time went, first boot then reboot.
        var bootProfiles: [BootProfile]
    }

    /// Whether a VM is left running for debugging: only when asked, and only when the test did not pass.
    static func keepsVM(onFailure keepVMOnFailure: Bool, outcome: Result<Verdict, any Error>) -> Bool {
        guard keepVMOnFailure else { return false }
        if case .success(.pass) = outcome { return false }
        return true
    }

    func run(consoleLog: String) async throws -> Observation {
        let scale = accelerator.timeoutScale
        let agentTimeout = Duration.seconds(60 * scale)
        let runDirectory = try home.makeScratchDirectory(under: home.run, prefix: "")
        ChildRegistry.shared.addDirectory(runDirectory)
        let kept = KeptFlag()
        defer {
            if !kept.value { try? FileManager.default.removeItem(atPath: runDirectory) }
            ChildRegistry.shared.removeDirectory(runDirectory)
        }
        let overlay = runDirectory + "/overlay.qcow2"
        let disk = image.bootDisk
        try await HostCommand("qemu-img", ["create", "-q", "-f", "qcow2", "-F", disk.format.rawValue, "-b", disk.path, overlay]).run()
        try? FileManager.default.removeItem(atPath: consoleLog)
        let configuration = MachineConfiguration(
            name: "hallmark-\(image.name)", kernel: image.path("vmlinuz")!, initrd: image.path("initrd.img")!,
            kernelCommandLine: image.kernelCommandLine, disk: overlay, diskFormat: "qcow2",
            accelerator: accelerator, runDirectory: runDirectory, consoleLog: consoleLog, channel: .init(loaded.recipe.tests.channel))
        // Given to checks as HALLMARK_TEST_STARTED: what the guest wrote after it was made during the test.
        let environment = ["HALLMARK_TEST_STARTED": String(Int(Date().timeIntervalSince1970))]
        let collection = FactCollection(
            controls: controls, staticFacts: loaded.recipe.tests.staticFacts, environment: environment,
            console: console)
        let artifactReading = collection.startReadingArtifact(of: image, scratch: runDirectory + "/image-facts")

        let console = self.console
        let keepVMOnFailure = self.keepVMOnFailure
        let keepRunning: @Sendable (Result<Observation, any Error>) -> Bool = { result in
            guard Self.keepsVM(onFailure: keepVMOnFailure, outcome: result.map(\.verdict)) else { return false }
            kept.value = true
            let id = (runDirectory as NSString).lastPathComponent
            console.warning(
                """
                the test failed; its VM is still running (--keep-vm-on-failure):
                  hallmark shell \(id) -- systemctl --failed     # run a command in it
                  hallmark shell \(id)                           # one command per line from stdin
                  hallmark stop \(id)                            # end it
                """)
            return true
        }
        do {
            return try await VirtualMachine.with(configuration, keepRunning: keepRunning) { machine in
                try await observe(
                    machine, configuration: configuration, collection: collection, artifactReading: artifactReading,
                    agentTimeout: agentTimeout, scale: scale)
            }
        } catch {
            // A failed boot ends the artifact's reading too: a cancelled wait kills its processes.
            artifactReading?.cancel()
            _ = await artifactReading?.value
            throw error
        }
    }

    private func observe(
        _ machine: VirtualMachine, configuration: MachineConfiguration, collection: FactCollection,
        artifactReading: Task<FactCollection.ArtifactReading, Never>?, agentTimeout: Duration,
        scale: Double
    ) async throws -> Observation {
        var timings = StageTimings()
        // Boot time runs from QEMU's launch to the guest channel's first answer, comparable to a bare
        // launch (the artifact's reading runs beside it, at a lower priority).
        let launch = ContinuousClock.now
        _ = try await console.step("boot \(image.reference) (\(accelerator.rawValue))") {
            _ = try await machine.waitForGuest(timeout: agentTimeout)
        }
        timings.boot = (ContinuousClock.now - launch).seconds
        if let note = await machine.channelNote { console.warning(note) }
        let channel = await machine.channelKind
        // The agent answers early in boot, before services such as ssh are up: let systemd
        // finish first, so test phases and checks see the booted system, not a booting one.
        var (systemState, settleTime) = try await console.step("wait for systemd to finish booting") {
            try await Self.settle(machine, scale: scale)
        }
        timings.settle = settleTime.seconds
        var bootProfiles = [await Self.profile(machine, boot: "boot", agentSeconds: timings.boot, scale: scale)]

        let (componentTests, testPhaseTime) = try await console.step("run components' test phases in the guest") {
            try await runTestPhases(
                in: machine, rebootTimeout: agentTimeout,
                detailedOutput: (configuration.consoleLog as NSString).deletingLastPathComponent + "/" + DetailedOutput.testFileName,
                scratch: configuration.runDirectory + "/transfers")
        }
        timings.componentTests = testPhaseTime.seconds

        var reboot: RebootFact?
        if loaded.recipe.tests.reboot {
            let (fact, rebootTime) = try await console.step("reboot and wait for a new boot_id") { () -> RebootFact in
                do {
                    let result = try await machine.reboot(timeout: agentTimeout)
                    return RebootFact(bootIDBefore: result.before, bootIDAfter: result.after, secondsToReturn: result.seconds, failure: nil)
                } catch let error as HallmarkError {
                    return RebootFact(bootIDBefore: "", bootIDAfter: nil, secondsToReturn: nil, failure: error.message)
                }
            }
            timings.reboot = rebootTime.seconds
            reboot = fact
            if fact.failure == nil {
                (systemState, settleTime) = try await console.step("wait for systemd to finish booting again") {
                    try await Self.settle(machine, scale: scale)
                }
                timings.settleAfterReboot = settleTime.seconds
                bootProfiles.append(await Self.profile(machine, boot: "reboot", agentSeconds: timings.reboot, scale: scale))
            }
        }

        let label = "collect facts for \(controls.count) control(s) in one guest round trip"
        let (collected, checkTime) = try await console.step(label) {
            try await collection.collect(
                in: machine, artifactReading: artifactReading, lanes: configuration.cpus,
                timeout: .seconds(120 * scale))
        }
        var facts = collected.facts
        facts.systemState = systemState
        facts.reboot = reboot
        let settled = [timings.settle, timings.settleAfterReboot]
        facts.bootTimes = bootProfiles.enumerated().map { index, profile in
            BootTimeFact(
                boot: profile.boot, agentSeconds: profile.agentSeconds,
                settledSeconds: profile.agentSeconds.flatMap { agent in settled[index].map { agent + $0 } },
                kernelSeconds: profile.kernelSeconds, userspaceSeconds: profile.userspaceSeconds, scale: scale,
                accelerator: accelerator.rawValue,
                slowestUnit: profile.slowestUnits.first.map { "\($0.unit) (\(String(format: "%.1f", $0.seconds)) s)" })
        }
        timings.checks = checkTime.seconds
        timings.imageFacts = collected.imageSeconds

        let results = componentTests + loaded.evaluate(facts, today: startedAt)
        return Observation(
            facts: facts, results: results, verdict: Gate.verdict(results, threshold: threshold),
            qemuVersion: await machine.qemuVersion, qemuCommandLine: configuration.qemuCommand.description,
            collectorScript: collected.guestScript, imageCollectorScript: collected.imageScript,
            guestChannel: channel?.rawValue, guestChannelNote: await machine.channelNote,
            staticFacts: collected.staticFacts, timings: timings, bootProfiles: bootProfiles)
    }

    /// Runs each component's test phase in the guest; a failing step fails that component's result.
    /// Every step's record goes to `detailedOutput`, as a build's go to detailedoutput.json.
    private func runTestPhases(in machine: VirtualMachine, rebootTimeout: Duration, detailedOutput: String, scratch: String) async throws
        -> [ControlResult]
    {
        let executor = GuestExecutor(machine: machine, rebootTimeout: rebootTimeout)
        let tested = zip(loaded.components, loaded.recipe.components).filter { $0.0.phase(.test) != nil }
        guard !tested.isEmpty else { return [] }
        let writer = DetailedOutput.Writer(path: detailedOutput, components: tested.map(\.0))
        var results: [ControlResult] = []
        var records: [StepRecord] = []
        var failures: [String] = []
        for (component, reference) in tested {
            var outputs: [String: String] = [:]
            var failure: String?
            do {
                records += try await ComponentRunner(
                    component: component, parameters: reference.parameters, scratch: scratch, log: { _ in }
                )
                .run(.test, on: executor, outputs: &outputs)
            } catch let error as ComponentStepFailure {
                records += error.records
                failure = error.message
                failures.append(error.message)
            }
            results.append(Evaluator.componentTestResult(component: component.name, path: component.path, failure: failure))
        }
        writer.write(records, failure: failures.isEmpty ? nil : failures.joined(separator: "; "), log: { console.warning($0) })
        return results
    }

    /// Reads where the boot's time went once systemd has settled; a guest that cannot say gives a
    /// profile without figures rather than failing the test.
    static func profile(_ machine: VirtualMachine, boot: String, agentSeconds: Double?, scale: Double) async -> BootProfile {
        let output = try? await machine.exec(BootProfile.guestCommand, label: "systemd-analyze", timeout: .seconds(30 * scale))
        return BootProfile.parse(output?.stdoutText ?? "", boot: boot, agentSeconds: agentSeconds)
    }

    /// Waits until systemd has finished starting units (`systemctl is-system-running --wait`) and
    /// returns what it printed and its exit code: the state boot health reports.
    static func settle(_ machine: VirtualMachine, scale: Double) async throws -> ProbeOutput {
        // The console shell answers before systemd has opened its socket, and systemctl does not
        // wait for one that is not there yet: it would print no state at all.
        let waitForSystemd = "while [ ! -S /run/systemd/private ]; do sleep 0.5; done; exec systemctl is-system-running --wait"
        let result = try await machine.exec(
            "timeout \(Int(120 * scale)) sh -c '\(waitForSystemd)'",
            label: "systemctl is-system-running --wait", timeout: .seconds(130 * scale))
        return ProbeOutput(exitCode: result.exitCode ?? -1, stdout: result.stdoutText, stderr: result.stderrText)
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
