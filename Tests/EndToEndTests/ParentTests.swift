import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import ImageStore
import Testing

/// Parents other than a Debian suite, each taken from the shared e2e-minimal image or its cached
/// bootstrap: the build unpacks it, runs one component on it and records the parent's identity.
/// An earlier image as parent is built and booted by `ImageParent` below.
extension EndToEndTests {
    /// A recipe on `parent` tested with one boot (the reboot is proved by other fixtures).
    static func parentRecipe(name: String, parent: String, in directory: String) throws -> String {
        let path = directory + "/\(name).yaml"
        let text = """
            name: \(name)
            version: 1.0.0
            parent:
            \(parent)
            components:
              - path: \(Repository.root)/components/sysctl-hardening.yaml
            tests:
              reboot: false
              policies: [\(Repository.root)/policies/debian-baseline.yaml]
              waivers: \(Repository.fixture("no-reboot-waivers.yaml"))
            outputs: [raw]
            disk: {size: 1G}
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Builds `recipe` with a cold layer cache and returns the image, removed (with its cache entries) by the caller.
    static func buildParentRecipe(_ recipe: String, name: String) async throws -> ImageArtifacts {
        _ = ImageBuild.LayerCache(home: SharedImages.home).removeSuperseded(recipe: name, keeping: [])
        let run = try await Hallmark.run(["build", recipe], reports: Hallmark.scratchReports())
        try #require(run.status == .exited(0), "\(run.output)\n\(run.errors)")
        #expect(run.output.contains("run 1 component(s) in a chroot"), "\(run.output)")
        return try #require(try ImageStore(home: SharedImages.home).latest(name: name, version: "1.0.0"))
    }

    static func removeImages(named name: String) {
        _ = ImageBuild.LayerCache(home: SharedImages.home).removeSuperseded(recipe: name, keeping: [])
        try? FileManager.default.removeItem(atPath: SharedImages.home.images + "/" + name)
    }
}

extension EndToEndTests.ParentBuilds {
    @Test func aTarballAndADiskEachBuildWithTheirIdentity() async throws {
        let base = try await SharedImages.minimal()
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        guard case .debian(let debian) = try Recipe.load(path: Repository.fixture("minimal.yaml")).parent else {
            Issue.record("minimal.yaml no longer has a Debian parent")
            return
        }
        let tarball = SharedImages.home.parentCache + "/\(ParentCache.key(for: debian)).tar"
        try #require(FileManager.default.fileExists(atPath: tarball), "the shared bootstrap \(tarball) is missing")
        let disk = base.bootDisk.path
        let diskDigest = try #require(base.fileDigests?[String(disk.dropFirst(base.directory.count + 1))])

        let cases: [(name: String, parent: String, kind: String, reference: String, sha256: String)] = [
            ("e2e-parent-tarball", "  tarball: \(tarball)", "tarball", tarball, try await Digest.sha256(fileAt: tarball)),
            ("e2e-parent-disk", "  disk: \(disk)", "disk", disk, diskDigest),
        ]
        for item in cases {
            defer { EndToEndTests.removeImages(named: item.name) }
            let recipe = try EndToEndTests.parentRecipe(name: item.name, parent: item.parent, in: scratch.path)
            let image = try await EndToEndTests.buildParentRecipe(recipe, name: item.name)
            #expect(image.parent == ParentRecord(kind: item.kind, reference: item.reference, sha256: item.sha256), "\(item.name)")
            // The parent's tree is there (its kernel and packages), with the component applied on top.
            #expect(image.packages.contains { $0.hasPrefix("openssh-server ") }, "\(item.name)")
            #expect(!image.kernelVersion.isEmpty, "\(item.name)")
            #expect(image.steps.contains { $0.component == "sysctl-hardening" }, "\(item.name)")
        }
    }
}

extension EndToEndTests.ImageParent {
    /// `parent: {image: {name: e2e-minimal, version: 1.x.x}}` builds on the previous build of
    /// minimal.yaml and tests; report.json names that build and its disk's digest.
    @Test func aRecipeOnThePreviousBuildOfAnotherBuildsAndTests() async throws {
        let base = try await SharedImages.minimal()
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let name = "e2e-parent-of-image"
        defer { EndToEndTests.removeImages(named: name) }
        let recipe = try EndToEndTests.parentRecipe(
            name: name, parent: "  image: {name: e2e-minimal, version: 1.x.x}", in: scratch.path)
        let run = try await Hallmark.run(["run", recipe], reports: Hallmark.scratchReports())
        try #require(run.status == .exited(0), "\(run.output)\n\(run.errors)")
        let report = try run.report(image: name)
        let disk = base.bootDisk.path
        #expect(report.image.parent?.kind == "image")
        #expect(report.image.parent?.reference == base.reference)
        #expect(report.image.parent?.sha256 == base.fileDigests?[String(disk.dropFirst(base.directory.count + 1))])
        #expect(report.gate.verdict == "pass", "\(report.gate.summary)")
    }
}
