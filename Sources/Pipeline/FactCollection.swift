import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageFacts
import ImageStore
import VirtualMachine

/// A test's facts: the static ones read from the disk artifact on the host while the guest boots
/// (when the recipe asks for that and a control needs one), the rest in one guest round trip.
struct FactCollection: Sendable {
    let probes: [Probe]
    let imageProbes: [Probe]
    let runtimeProbes: [Probe]
    /// The recipe's `tests.static_facts`; nil when no control needs a static fact.
    let setting: Recipe.StaticFactsLocation?
    /// Given to every probe (HALLMARK_TEST_STARTED).
    let environment: [String: String]
    let console: Console

    init(controls: [Control], staticFacts: Recipe.StaticFactsLocation, environment: [String: String], console: Console) {
        probes = Collector.probes(for: controls)
        (imageProbes, runtimeProbes) = Collector.split(probes)
        setting = imageProbes.isEmpty ? nil : staticFacts
        self.environment = environment
        self.console = console
    }

    /// The artifact's reading, started before the boot.
    struct ArtifactReading: Sendable {
        var plan: CollectorPlan
        var outputs: Result<[ProbeKey: ProbeOutput], any Error>
        var seconds: Double
    }

    /// What was collected, with what, and where the static facts came from.
    struct Collected: Sendable {
        var facts: Facts
        var guestScript: String
        /// What ran against the artifact, when its static facts were used.
        var imageScript: String?
        var imageSeconds: Double?
        var staticFacts: StaticFactsSource
    }

    /// Where the static facts were read, and why there when it is not where the recipe asked.
    struct StaticFactsSource: Sendable, Equatable {
        /// nil when no control needed a static fact.
        var location: Recipe.StaticFactsLocation?
        var note: String?

        /// The decision: the artifact when the recipe asks for it and its reading succeeded, else the guest.
        /// `reading` is nil when the artifact was not read.
        static func decide(setting: Recipe.StaticFactsLocation?, reading: Result<Void, any Error>?) -> StaticFactsSource {
            switch (setting, reading) {
            case (nil, _):
                return StaticFactsSource(location: nil, note: nil)
            case (.guest?, _):
                return StaticFactsSource(location: .guest, note: "the recipe asks for every fact in the guest (tests.static_facts: guest)")
            case (.image?, .success?):
                return StaticFactsSource(location: .image, note: nil)
            case (.image?, .failure(let error)?):
                return StaticFactsSource(
                    location: .guest,
                    note: "the disk artifact could not be read on the host, so static facts were collected in the guest: "
                        + ((error as? HallmarkError)?.message ?? "\(error)"))
            case (.image?, nil):
                return StaticFactsSource(location: .guest, note: nil)
            case (.rootfs?, _):
                // A recipe cannot ask for it (Recipe allows image and guest); a tree is what `policy test --rootfs` reads.
                return StaticFactsSource(location: .guest, note: nil)
            }
        }
    }

    /// Starts reading the static probes from the disk the VM boots (whose sha256 is checked again
    /// after the test), or returns nil when the recipe asks for them in the guest or none is needed.
    func startReadingArtifact(of image: ImageArtifacts, scratch: String) -> Task<ArtifactReading, Never>? {
        guard setting == .image else { return nil }
        let plan = CollectorPlan(probes: imageProbes, lanes: 2, environment: environment)
        let disk = image.bootDisk
        return Task {
            let start = ContinuousClock.now
            let outputs: Result<[ProbeKey: ProbeOutput], any Error>
            do {
                outputs = .success(
                    try await ImageCollector(scratch: scratch).collect(plan, from: .disk(path: disk.path, format: disk.format.rawValue)))
            } catch {
                outputs = .failure(error)
            }
            // The raw copy of a qcow2 disk is as large as the filesystem's data: gone as soon as it is read.
            try? FileManager.default.removeItem(atPath: scratch)
            return ArtifactReading(plan: plan, outputs: outputs, seconds: (ContinuousClock.now - start).seconds)
        }
    }

    /// Waits for the artifact's reading, then collects the rest (everything, when the artifact
    /// could not be read) in one guest round trip.
    func collect(
        in machine: VirtualMachine, artifactReading: Task<ArtifactReading, Never>?, lanes: Int,
        timeout: Duration
    ) async throws -> Collected {
        var imageOutputs: [ProbeKey: ProbeOutput] = [:]
        var guestProbes = probes
        var imageScript: String?
        var imageSeconds: Double?
        var reading: Result<Void, any Error>?
        if let artifactReading {
            let outcome = await withTaskCancellationHandler {
                await artifactReading.value
            } onCancel: {
                artifactReading.cancel()
            }
            try Task.checkCancellation()
            imageSeconds = outcome.seconds
            switch outcome.outputs {
            case .success(let outputs):
                imageOutputs = outputs
                guestProbes = runtimeProbes
                imageScript = outcome.plan.script
                reading = .success(())
                console.info(
                    String(
                        format: "%d static probe(s) were read from the disk artifact in %.1fs, during the boot",
                        outputs.count, outcome.seconds))
            case .failure(let error):
                reading = .failure(error)
            }
        }
        let source = StaticFactsSource.decide(setting: setting, reading: reading)
        if let note = source.note, setting == .image { console.warning(note) }

        let plan = CollectorPlan(probes: guestProbes, lanes: lanes, environment: environment)
        // On standard input: the script's frame boundary must not show in any guest process's argv.
        let result = try await machine.exec(CollectorPlan.command, stdin: plan.stdin, label: "the fact collector", timeout: timeout)
        guard result.exitCode == 0 else {
            throw HallmarkError.infrastructure(
                "the fact collector failed in the guest (exit \(result.exitCode.map(String.init) ?? "signal")): \(result.stderrText.prefix(500))"
            )
        }
        var facts = Facts(source: .guest)
        facts.probes = try plan.parse(result.stdoutText).merging(imageOutputs) { guest, _ in guest }
        facts.probeSources = imageOutputs.isEmpty ? nil : imageOutputs.mapValues { _ in .image }
        return Collected(facts: facts, guestScript: plan.script, imageScript: imageScript, imageSeconds: imageSeconds, staticFacts: source)
    }
}
