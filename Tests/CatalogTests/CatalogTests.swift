import Catalog
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

/// A fresh home with its catalog, removed after the test.
private func withCatalog(_ body: (Catalog, HallmarkHome) async throws -> Void) async throws {
    let directory = try TemporaryDirectory(prefix: "hallmark-catalog")
    defer { directory.remove() }
    let home = HallmarkHome(root: directory.path)
    let (catalog, _) = try await Catalog.open(home: home)
    try await body(catalog, home)
}

/// Writes a store build as `hallmark build` leaves one: `images/<name>/<version>-<build>/image.json`.
private func storeBuild(_ home: HallmarkHome, name: String, version: String, build: Int) throws {
    let directory = ImageStore(home: home).directory(name: name, version: version, build: build)
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    try ImageArtifacts(
        name: name, version: version, build: build, recipeDigest: "r", builtAt: Date(timeIntervalSince1970: 1_700_000_000),
        kernelVersion: "6.1.0", kernelCommandLine: "root=/dev/vda", files: ["disk.raw": "disk.raw"], packages: [], steps: [],
        buildDigest: "d\(build)"
    ).write(to: directory)
}

@Suite struct CatalogTests {
    @Test func buildNumbersFollowTheCatalogAndTheStore() async throws {
        try await withCatalog { catalog, home in
            let first = try await catalog.beginBuild(image: "base", version: "1.0.0", buildDigest: "a")
            let second = try await catalog.beginBuild(image: "base", version: "1.0.0", buildDigest: "a")
            let otherVersion = try await catalog.beginBuild(image: "base", version: "1.1.0", buildDigest: "a")
            #expect([first.number, second.number, otherVersion.number] == [Int]([1, 2, 1]))
            #expect(first.state == .building)
            // A number the store handed out without the catalog (an older binary) is never handed out again.
            _ = try ImageStore(home: home).reserveNextBuild(name: "base", version: "1.0.0")
            let afterStoreClaim = try await catalog.beginBuild(image: "base", version: "1.0.0", buildDigest: "a")
            #expect(afterStoreClaim.number == 4)
        }
    }

    @Test func statesAreRecordedWithTimestampsInOrder() async throws {
        try await withCatalog { catalog, _ in
            let build = try await catalog.beginBuild(image: "base", version: "1.0.0", buildDigest: "a")
            try await catalog.setState(build, .testing)
            try await catalog.recordTestRun(
                build,
                TestRun(verdict: "pass", reportDigest: "sha256:1", envelopeDigest: "sha256:2", reportDirectory: "/r", inputsDigest: "i"))
            try await catalog.setState(build, .distributing)
            try await catalog.recordDistribution(build, Distribution(target: "directory:/srv/a", state: "DONE"))
            let available = try await catalog.setState(build, .available)
            let history = try await catalog.history(of: available)
            #expect(history.states.map(\.state) == [.building, .testing, .distributing, .available])
            #expect(zip(history.states, history.states.dropFirst()).allSatisfy { $0.at <= $1.at })
            #expect(history.testRuns.map(\.envelopeDigest) == ["sha256:2"])
            #expect(history.testRuns.map(\.inputsDigest) == ["i"])
            #expect(history.distributions.map(\.target) == ["directory:/srv/a"])
            #expect(history.build.state == .available)
        }
    }

    @Test func wildcardsResolveToTheNewestAvailableBuild() async throws {
        try await withCatalog { catalog, _ in
            for (version, state) in [
                ("1.0.0", BuildState.available), ("1.2.0", .available), ("1.2.0", .available), ("1.3.0", .failed),
                ("2.0.0", .deprecated),
            ] {
                let build = try await catalog.beginBuild(image: "base", version: version, buildDigest: nil)
                try await catalog.setState(build, state)
            }
            let resolve = { (text: String) in try await catalog.resolve(BuildSelector(parsing: text)) }
            #expect(try await resolve("base@1.x.x").reference == "base@1.2.0/2")
            #expect(try await resolve("base@x.x.x").reference == "base@1.2.0/2")
            #expect(try await resolve("base").reference == "base@1.2.0/2")
            #expect(try await resolve("base@1.0.x").reference == "base@1.0.0/1")
            // An exact build is what it names, whatever its state.
            #expect(try await resolve("base@1.3.0/1").state == .failed)
            let none = await #expect(throws: HallmarkError.self) { try await resolve("base@2.x.x") }
            #expect(none?.description.contains("no AVAILABLE build matches base@2.x.x (there are: 2.0.0/1 DEPRECATED)") == true)
            let unknown = await #expect(throws: HallmarkError.self) { try await resolve("nothing") }
            #expect(unknown?.description.contains("it has base") == true)
        }
    }

    @Test(arguments: ["", "@1.0.0", "base@1.0", "base@x.1.x", "base@1.x.0", "base@1.x.x/3", "base@1.0.0/0", "base@1.0.-1", "a/b"])
    func selectorsThatAreRejected(text: String) {
        #expect(throws: HallmarkError.self) { try BuildSelector(parsing: text) }
    }

    @Test func storeBuildsFromBeforeTheCatalogAreImportedOnce() async throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-catalog")
        defer { directory.remove() }
        let home = HallmarkHome(root: directory.path)
        try storeBuild(home, name: "base", version: "1.0.0", build: 1)
        try storeBuild(home, name: "base", version: "1.0.0", build: 3)
        // Not a build: no image.json.
        try FileManager.default.createDirectory(atPath: home.images + "/base/1.0.0-4", withIntermediateDirectories: true)
        let (catalog, first) = try await Catalog.open(home: home)
        #expect(first.imported == ["base@1.0.0/1", "base@1.0.0/3"])
        let builds = try await catalog.builds()
        #expect(builds.map(\.state) == [.available, .available])
        #expect(builds.map(\.buildDigest) == ["d1", "d3"])
        let (_, second) = try await Catalog.open(home: home)
        #expect(second.imported.isEmpty)
        // The next number is past every imported build and every directory in the store.
        let next = try await catalog.beginBuild(image: "base", version: "1.0.0", buildDigest: nil)
        #expect(next.number == 5)
    }
}

/// Real processes against one catalog file: what two CI jobs on one host do.
@Suite struct CatalogProcessTests {
    static let claimer = Repository.root + "/.build/debug/catalog-claimer"

    @Test func processesRacingForBuildNumbersNeverShareOne() async throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-catalog")
        defer { directory.remove() }
        let (processes, each) = (4, 25)
        let children = try (0..<processes).map { index in
            try ChildProcess.spawn(
                HostCommand(Self.claimer, [directory.path, "base", "1.0.0", "\(each)"]), outputPath: directory.file("out-\(index)"),
                errorPath: directory.file("err-\(index)"))
        }
        for (index, child) in children.enumerated() {
            let status = await child.wait()
            #expect(
                status.succeeded,
                "claimer \(index): \(status): \((try? String(contentsOfFile: directory.file("err-\(index)"), encoding: .utf8)) ?? "")")
        }
        let numbers = try (0..<processes).flatMap { index in
            try String(contentsOfFile: directory.file("out-\(index)"), encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        }
        #expect(numbers.count == processes * each)
        #expect(Set(numbers) == Set(1...(processes * each)))
        let (catalog, _) = try await Catalog.open(home: HallmarkHome(root: directory.path))
        let builds = try await catalog.builds(image: "base")
        #expect(builds.map(\.number) == Array(1...(processes * each)))
        #expect(builds.allSatisfy { $0.state == .available })
    }

    @Test func aKilledBuildIsMarkedFailedByTheNextOpen() async throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-catalog")
        defer { directory.remove() }
        let child = try await holdingClaimer(directory, "hold")
        // While its process runs, the build stays BUILDING.
        let (catalog, whileRunning) = try await Catalog.open(home: HallmarkHome(root: directory.path))
        #expect(whileRunning.interrupted.isEmpty)
        #expect(try await catalog.builds().map(\.state) == [.building])
        child.signalGroup(SIGKILL)
        _ = await child.wait()
        let (_, afterKill) = try await Catalog.open(home: HallmarkHome(root: directory.path))
        #expect(afterKill.interrupted == ["base@1.0.0/1"])
        let history = try await catalog.history(of: try await catalog.builds()[0])
        #expect(history.build.state == .failed)
        #expect(history.states.last?.note?.contains("interrupted") == true)
    }

    /// A claimer holding a build in `mode` (`hold`, `hold-distributing`), started and past its claim.
    private func holdingClaimer(_ directory: TemporaryDirectory, _ mode: String) async throws -> ChildProcess {
        let output = directory.file("out")
        let child = try ChildProcess.spawn(HostCommand(Self.claimer, [directory.path, "base", "1.0.0", mode]), outputPath: output)
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? String(contentsOfFile: output, encoding: .utf8))?.hasSuffix("\n") != true, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        return child
    }

    @Test func aKilledRedistributionLeavesTheBuildAvailable() async throws {
        let directory = try TemporaryDirectory(prefix: "hallmark-catalog")
        defer { directory.remove() }
        let child = try await holdingClaimer(directory, "hold-distributing")
        child.signalGroup(SIGKILL)
        _ = await child.wait()
        let (catalog, afterKill) = try await Catalog.open(home: HallmarkHome(root: directory.path))
        #expect(afterKill.interrupted.isEmpty)
        #expect(afterKill.redistributionsInterrupted == ["base@1.0.0/1"])
        let history = try await catalog.history(of: try await catalog.builds()[0])
        #expect(history.states.map(\.state) == [.building, .available, .distributing, .available])
        #expect(history.states.last?.note?.contains("distribution interrupted") == true)
    }
}
