import Attestation
import Catalog
import Compliance
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageBuild
import ImageStore
import VirtualMachine

/// What a test run produced.
public struct TestOutcome: Sendable {
    public var report: AuditReport
    public var reportDirectory: String
    public var signed: Bool

    /// The gate's verdict; the CLI turns it into the exit code.
    public var verdict: Verdict { report.gate.verdict }
}

/// Chains the stages: load (LoadedRecipe) → build (ImageBuilder) → boot session (BootSession,
/// with FactCollection) → evidence (EvidenceSet).
public struct Pipeline: Sendable {
    /// Hallmark's version: `hallmark --version` prints it and every report carries it.
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

    /// The reports directory, made now so that a file in its place stops the command before it
    /// builds or boots anything (usage: it is `--reports`).
    func checkReportsDirectory() throws {
        let path = options.reportsDirectory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw HallmarkError(.usage, "--reports \(path) is a file, expected a directory") }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw HallmarkError(
                .usage, "--reports \(path) cannot be created; expected a directory, or a new path under a writable directory")
        }
    }

    /// The key a test signs with (`--signing-key`, else the recipe's `evidence.signing_key`, else
    /// `$HALLMARK_SIGNING_KEY`) and its id, read and checked now: a bad key stops `run` before the
    /// build and `test` before the boot. The key itself is held again only to sign.
    public func signingKey(for loaded: LoadedRecipe, warn: (String) -> Void = { _ in }) throws -> (path: String, keyID: String)? {
        let environmentKey = ProcessInfo.processInfo.environment["HALLMARK_SIGNING_KEY"].flatMap { $0.isEmpty ? nil : absolutePath($0) }
        guard let path = options.signingKey ?? loaded.recipe.evidence.signingKey ?? environmentKey else { return nil }
        return (path, try SigningKey(pemFile: path, warn: warn).publicKey.keyID)
    }

    /// What a test needs besides its recipe, checked before anything is built or booted.
    public func checkTestInputs(_ loaded: LoadedRecipe) throws {
        try checkReportsDirectory()
        _ = try signingKey(for: loaded)
    }

    /// `hallmark build`: builds the next build number of the recipe. The catalog entry ends in
    /// `finished` (a pipeline passes TESTING: the build is not AVAILABLE before it is distributed).
    public func build(_ loaded: LoadedRecipe, finished: BuildState = .available) async throws -> (ImageArtifacts, BuildTimings, String) {
        try checkReportsDirectory()
        // The catalog hands out the build number and records the build as BUILDING: a build this
        // process does not finish (failed, killed) ends FAILED, now or at the next command's open.
        let catalog = try await openCatalog()
        let entry = try await catalog.beginBuild(
            image: loaded.recipe.name, version: loaded.recipe.version.description,
            buildDigest: loaded.recipe.buildDigest(components: loaded.components))
        let build = entry.number
        do {
            let reports = try reportDirectory(for: loaded.recipe, build: build)
            options.console.info("building \(loaded.recipe.name) \(loaded.recipe.version)/\(build) (log: \(reports)/build.log)")
            let builder = ImageBuilder(home: options.home, console: options.console)
            let (artifacts, timings) = try await builder.build(
                loaded.recipe, components: loaded.components, build: build, logPath: reports + "/build.log")
            options.console.info("image stored in \(artifacts.directory)")
            try await catalog.setState(entry, finished, note: "built")
            return (artifacts, timings, reports)
        } catch {
            _ = try? await catalog.setState(entry, .failed, note: "build failed: \(error)")
            throw error
        }
    }

    /// `hallmark run`: build, then test.
    public func run(_ loaded: LoadedRecipe) async throws -> TestOutcome {
        // Nothing is built on a bad key or reports directory, whoever calls (the CLI also checks every recipe first).
        try checkTestInputs(loaded)
        let (artifacts, build, _) = try await build(loaded)
        var timings = StageTimings()
        (timings.bootstrap, timings.components, timings.disk) = (build.bootstrap, build.components, build.disk)
        return try await test(loaded, image: artifacts, buildTimings: timings)
    }

    /// `hallmark test`: boots the image on a throw-away overlay, runs the components' test phases,
    /// reboots, collects facts in one round trip, evaluates the policies and writes the evidence.
    public func test(_ loaded: LoadedRecipe, image: ImageArtifacts, buildTimings: StageTimings = StageTimings()) async throws -> TestOutcome
    {
        let startedAt = Date()
        // The key itself is held only while signing, once the VM is gone and no image or policy code runs any more.
        if let warning = try loaded.checkMadeFromThis(image) { options.console.warning(warning) }
        try checkReportsDirectory()
        let signing = try signingKey(for: loaded, warn: options.console.warning)
        let signingKeyPath = signing?.path, signingKeyID = signing?.keyID
        let junitFlavour = options.junitFlavour ?? loaded.recipe.evidence.junit ?? .standard
        let reports = try reportDirectory(for: loaded.recipe, build: image.build)
        EvidenceSet.removeIncompleteSet(in: reports)
        let threshold = options.gate ?? loaded.recipe.tests.gate
        let testedDisk = image.bootDisk
        // Hashed while the guest boots, at low priority (most of it is the boot's wait anyway);
        // the report claims these digests only once they are in.
        async let hashing = artifactDigests(image, lowPriority: true)

        let accelerator = try await AcceleratorProbe(home: options.home, console: options.console)
            .resolve(options.accelerator, kernel: image.path("vmlinuz")!)
        let session = BootSession(
            loaded: loaded, image: image, accelerator: accelerator, controls: loaded.controlsToCollect(on: startedAt),
            startedAt: startedAt, threshold: threshold, keepVMOnFailure: options.keepVMOnFailure,
            home: options.home, console: options.console)
        let observation = try await session.run(consoleLog: reports + "/console.log")
        let digestsBefore = try await hashing

        // The artifact must be byte-for-byte what was built: tests only ever wrote to the overlay.
        let digestAfter = try await Digest.sha256(fileAt: testedDisk.path)
        var results = observation.results
        var forced: Verdict?
        if digestAfter != digestsBefore.first(where: { $0.path == testedDisk.path })?.sha256 {
            forced = .fail
            results = results.map {
                var result = $0; result.message += " (artifact changed during test)"; return result
            }
        }
        var timings = buildTimings
        timings.merge(observation.timings)
        let factsData = try JSONEncoder.hallmark.encode(observation.facts)
        var report = AuditReport(
            tool: .init(version: Self.toolVersion),
            image: .init(
                name: image.name, version: image.version, build: image.build,
                artifacts: digestsBefore.map { artifact in
                    var artifact = artifact
                    if artifact.path == testedDisk.path { artifact.sha256AfterTest = digestAfter }
                    return artifact
                }, parent: image.parent.map { .init(kind: $0.kind, reference: $0.reference, sha256: $0.sha256) }),
            host: .init(
                hostname: ProcessInfo.processInfo.hostName, qemuVersion: observation.qemuVersion, accelerator: accelerator.rawValue,
                qemuCommandLine: observation.qemuCommandLine, guestChannel: observation.guestChannel,
                guestChannelNote: observation.guestChannelNote, staticFacts: observation.staticFacts.location?.rawValue,
                staticFactsNote: observation.staticFacts.note),
            inputs: loaded.inputFiles, timings: timings, results: results, threshold: threshold,
            startedAt: startedAt, finishedAt: Date(), factsSHA256: Digest.sha256(factsData), forcedVerdict: forced)
        report.bootProfiles = observation.bootProfiles
        let evidence = EvidenceSet(
            report: report, facts: factsData, collectorScript: observation.collectorScript,
            imageCollectorScript: observation.imageCollectorScript, junit: junitFlavour)
        var signed = false
        try evidence.publish(
            into: reports,
            signingKey: {
                let key = try signingKeyPath.map { path in
                    let key = try SigningKey(pemFile: path, warn: { _ in })
                    guard key.publicKey.keyID == signingKeyID else {
                        throw HallmarkError(.invalidInput, "\(path) holds another key than when the test started; nothing was signed")
                    }
                    return key
                }
                signed = key != nil
                return key
            }, console: options.console)
        try await recordTestRun(image: image, verdict: report.gate.verdict.rawValue, reports: reports, inputsDigest: loaded.inputsDigest)
        return TestOutcome(report: report, reportDirectory: reports, signed: signed)
    }

    /// The catalog, with what opening it changed said on the console.
    func openCatalog() async throws -> Catalog {
        let (catalog, housekeeping) = try await Catalog.open(home: options.home)
        if !housekeeping.imported.isEmpty {
            options.console.info("catalog: imported \(housekeeping.imported.count) build(s) from the image store")
        }
        for build in housekeeping.interrupted { options.console.warning("catalog: \(build) was interrupted; marked FAILED") }
        return catalog
    }

    /// A published test in the catalog: its verdict and the digests of the report and envelope it signed.
    func recordTestRun(image: ImageArtifacts, verdict: String, reports: String, inputsDigest: String) async throws {
        let catalog = try await openCatalog()
        let selector = try BuildSelector(parsing: "\(image.name)@\(image.version)/\(image.build)")
        let build = try await catalog.resolve(selector)
        let digest = { (name: String) async throws -> String? in
            let path = reports + "/" + name
            guard FileManager.default.fileExists(atPath: path) else { return nil }
            return "sha256:" + (try await Digest.sha256(fileAt: path))
        }
        try await catalog.recordTestRun(
            build,
            TestRun(
                verdict: verdict, reportDigest: try await digest("report.json"), envelopeDigest: try await digest("report.dsse.json"),
                reportDirectory: reports, inputsDigest: inputsDigest))
    }

    /// The booted files, hashed here; then the outputs derived from the same tree, with the
    /// digests manifest.json recorded when the build wrote them (hashed once: the test does not
    /// read them, and verify checks the files against the signed subjects).
    func artifactDigests(_ image: ImageArtifacts, lowPriority: Bool = false) async throws -> [AuditReport.Artifact] {
        var artifacts: [AuditReport.Artifact] = []
        for file in image.evidenceFiles() {
            if let sha256 = file.recordedSHA256, let size = file.sizeBytes {
                artifacts.append(
                    AuditReport.Artifact(role: file.role, path: file.path, sha256: sha256, sizeBytes: size, evidence: file.evidence))
                continue
            }
            let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.uint64Value ?? 0
            artifacts.append(
                AuditReport.Artifact(
                    role: file.role, path: file.path, sha256: try await Digest.sha256(fileAt: file.path, lowPriority: lowPriority),
                    sizeBytes: size, evidence: file.evidence))
        }
        return artifacts
    }
}
