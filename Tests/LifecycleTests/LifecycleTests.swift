import Catalog
import Distribution
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Lifecycle
import Testing

/// A scratch home whose catalog holds builds made of fake files: no VM, no image build.
private struct Scratch {
    let directory: TemporaryDirectory
    let home: HallmarkHome
    let catalog: Catalog
    let day: TimeInterval = 86_400

    init() async throws {
        directory = try TemporaryDirectory(prefix: "hallmark-lifecycle")
        home = HallmarkHome(root: directory.file("home"))
        (catalog, _) = try await Catalog.open(home: home)
    }

    /// A build in the store (image.json and a disk), `daysOld` days before now, left in `state`.
    @discardableResult
    func build(
        _ name: String = "base", version: String = "1.0.0", daysOld: Double, state: BuildState = .available, parent: String? = nil
    ) async throws -> CatalogBuild {
        let entry = try await catalog.beginBuild(image: name, version: version, buildDigest: "d", parent: parent)
        let disk = Data("disk of \(entry.reference)".utf8)
        try FileManager.default.createDirectory(atPath: entry.directory, withIntermediateDirectories: true)
        try disk.write(to: URL(fileURLWithPath: entry.directory + "/disk.qcow2"))
        try ImageArtifacts(
            name: name, version: version, build: entry.number, recipeDigest: "r", builtAt: Date(), kernelVersion: "6.1.0",
            kernelCommandLine: "root=/dev/vda", files: ["disk.qcow2": "disk.qcow2"], packages: [], steps: [], buildDigest: "d"
        ).write(to: entry.directory)
        let built = try await catalog.setState(entry, state)
        // Ages are given by planning "now" later: a build made now is `daysOld` old `daysOld` days from now.
        return CatalogBuild(
            id: built.id, image: built.image, version: built.version, number: built.number, state: built.state,
            buildDigest: built.buildDigest, directory: built.directory, parent: built.parent,
            createdAt: built.createdAt.addingTimeInterval(-daysOld * day), updatedAt: built.updatedAt)
    }

    func decisions(_ rules: LifecycleRules, now: Date = Date(), builds: [CatalogBuild]) async throws -> [String: LifecycleDecision.Action] {
        let applier = LifecycleApplier(catalog: catalog)
        let decided = LifecyclePlan.decide(builds, rules: rules, parents: try await applier.parents(), now: now)
        return Dictionary(uniqueKeysWithValues: decided.map { ($0.build, $0.action) })
    }

    func state(_ reference: String) async throws -> BuildState {
        try await catalog.resolve(BuildSelector(parsing: reference)).state
    }
}

@Suite struct LifecyclePlanTests {
    @Test func keepRetiresOlderBuildsButNeverTheNewestAvailable() async throws {
        let scratch = try await Scratch()
        defer { scratch.directory.remove() }
        var builds: [CatalogBuild] = []
        for age in [40.0, 30, 20, 10] { builds.append(try await scratch.build(daysOld: age)) }
        // The newest build is FAILED: the newest AVAILABLE one is build 3, and it stays whatever keep says.
        builds.append(try await scratch.build(daysOld: 1, state: .failed))
        let decided = try await scratch.decisions(
            .init(keep: 1, deprecateAfterDays: nil, deleteAfterDays: nil, retainAtLeast: 1), builds: builds)
        #expect(decided["base@1.0.0/4"] == .keep)
        #expect(decided["base@1.0.0/3"] == .deprecate)
        #expect(decided["base@1.0.0/1"] == .deprecate)
        #expect(decided["base@1.0.0/5"] == nil, "FAILED builds are not the lifecycle's")
    }

    @Test func ageDeprecatesAndDeletesAndRetainAtLeastHoldsBack() async throws {
        let scratch = try await Scratch()
        defer { scratch.directory.remove() }
        var builds: [CatalogBuild] = []
        for age in [400.0, 200, 100, 5] { builds.append(try await scratch.build(daysOld: age)) }
        let rules = LifecycleRules(keep: nil, deprecateAfterDays: 90, deleteAfterDays: 300, retainAtLeast: 1)
        let decided = try await scratch.decisions(rules, builds: builds)
        #expect(decided == ["base@1.0.0/1": .delete, "base@1.0.0/2": .deprecate, "base@1.0.0/3": .deprecate, "base@1.0.0/4": .keep])
        // Three AVAILABLE must remain: the two newest of those the age would retire are given back.
        let retained = try await scratch.decisions(
            .init(keep: nil, deprecateAfterDays: 90, deleteAfterDays: 300, retainAtLeast: 3), builds: builds)
        #expect(retained == ["base@1.0.0/1": .delete, "base@1.0.0/2": .keep, "base@1.0.0/3": .keep, "base@1.0.0/4": .keep])
    }

    @Test func aParentOfAnotherImageIsNeverRetired() async throws {
        let scratch = try await Scratch()
        defer { scratch.directory.remove() }
        let old = try await scratch.build(daysOld: 400)
        let newer = try await scratch.build(daysOld: 1)
        try await scratch.build("app", daysOld: 1, parent: old.reference)
        let decided = try await scratch.decisions(
            .init(keep: 1, deprecateAfterDays: nil, deleteAfterDays: 30, retainAtLeast: 1), builds: [old, newer])
        #expect(decided == ["base@1.0.0/1": .keep, "base@1.0.0/2": .keep])
    }
}

@Suite struct LifecycleApplyTests {
    /// Ships `build` to a directory target as the gate does, and records the distribution.
    private func ship(_ build: CatalogBuild, to root: String, scratch: Scratch) async throws -> String {
        let disk = build.directory + "/disk.qcow2"
        let release = [ShippedFile(name: "disk.qcow2", source: disk, sha256: try await Digest.sha256(fileAt: disk))]
        let outcome = try await DirectoryTarget(root: root).publish(release, subdirectory: "base/\(build.version)-\(build.number)")
        try await scratch.catalog.recordDistribution(build, Distribution(target: "directory:" + root, state: "DONE"))
        return outcome.directory
    }

    @Test func deletionRemovesWhatHallmarkWroteAndLeavesTheRest() async throws {
        let scratch = try await Scratch()
        defer { scratch.directory.remove() }
        let old = try await scratch.build(daysOld: 0)
        try await scratch.build(daysOld: 0)
        let region = scratch.directory.file("eu-west-1")
        let copy = try await ship(old, to: region, scratch: scratch)
        // A file someone else put beside the copy stays.
        try Data("notes".utf8).write(to: URL(fileURLWithPath: copy + "/NOTES"))
        let applier = LifecycleApplier(catalog: scratch.catalog)
        let rules = LifecycleRules(keep: 1, deprecateAfterDays: nil, deleteAfterDays: 1, retainAtLeast: 1)
        let plan = LifecyclePlan.decide(
            try await scratch.catalog.builds(image: "base"), rules: rules, parents: [], now: Date().addingTimeInterval(2 * scratch.day))

        let dry = try await applier.apply(plan, dryRun: true)
        #expect(dry.map(\.decision.action) == [.keep, .delete])
        #expect(dry.allSatisfy { $0.removed.isEmpty })
        #expect(FileManager.default.fileExists(atPath: copy + "/disk.qcow2"))
        #expect(try await scratch.state("base@1.0.0/1") == .available)

        let applied = try await applier.apply(plan, dryRun: false)
        let deleted = try #require(applied.last)
        #expect(deleted.state == .deleted)
        #expect(Set(deleted.removed) == [copy + "/SHA256SUMS", copy + "/disk.qcow2", old.directory])
        #expect(deleted.left.contains { $0.path == copy + "/NOTES" && $0.reason.contains("not a file Hallmark shipped") })
        #expect(deleted.left.contains { $0.reason == LifecycleApplier.layerCacheNote })
        #expect(!FileManager.default.fileExists(atPath: old.directory))
        #expect(FileManager.default.fileExists(atPath: copy + "/NOTES"))
        #expect(try await scratch.state("base@1.0.0/1") == .deleted)
        #expect(try await scratch.state("base@1.0.0/2") == .available)
        let history = try await scratch.catalog.history(of: try await scratch.catalog.resolve(BuildSelector(parsing: "base@1.0.0/1")))
        #expect(history.states.suffix(2).map(\.state) == [.deprecated, .deleted])
        // A number once used is never handed out again, even with the store's directory gone.
        #expect(try await scratch.catalog.beginBuild(image: "base", version: "1.0.0", buildDigest: nil).number == 3)
    }

    @Test func aCopyChangedAtTheTargetIsNotRemoved() async throws {
        let scratch = try await Scratch()
        defer { scratch.directory.remove() }
        let old = try await scratch.build(daysOld: 0)
        try await scratch.build(daysOld: 0)
        let region = scratch.directory.file("us-east-1")
        let copy = try await ship(old, to: region, scratch: scratch)
        try Data("replaced by someone".utf8).write(to: URL(fileURLWithPath: copy + "/disk.qcow2"))
        let plan = LifecyclePlan.decide(
            try await scratch.catalog.builds(image: "base"),
            rules: .init(keep: 1, deprecateAfterDays: nil, deleteAfterDays: 1, retainAtLeast: 1),
            parents: [], now: Date().addingTimeInterval(2 * scratch.day))
        let deleted = try #require(try await LifecycleApplier(catalog: scratch.catalog).apply(plan, dryRun: false).last)
        #expect(deleted.left.contains { $0.path == copy + "/disk.qcow2" && $0.reason.contains("sha256") })
        // SHA256SUMS names a digest the file no longer has, but it is what Hallmark wrote: it goes, the file stays.
        #expect(deleted.removed.contains(copy + "/SHA256SUMS"))
        #expect(try String(contentsOfFile: copy + "/disk.qcow2", encoding: .utf8) == "replaced by someone")
    }

    @Test func aBuildAnotherProcessMovedIsSkipped() async throws {
        let scratch = try await Scratch()
        defer { scratch.directory.remove() }
        let old = try await scratch.build(daysOld: 0)
        try await scratch.build(daysOld: 0)
        let plan = LifecyclePlan.decide(
            try await scratch.catalog.builds(image: "base"),
            rules: .init(keep: 1, deprecateAfterDays: nil, deleteAfterDays: nil, retainAtLeast: 1),
            parents: [])
        // Between the plan and its application, a distribution started on the old build.
        try await scratch.catalog.setState(old, .distributing)
        let results = try await LifecycleApplier(catalog: scratch.catalog).apply(plan, dryRun: false)
        #expect(results.last?.left.first?.reason.contains("another process") == true)
        #expect(try await scratch.state("base@1.0.0/1") == .distributing)
        #expect(FileManager.default.fileExists(atPath: old.directory))
    }
}
