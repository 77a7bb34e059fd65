import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

@testable import ImageBuild

/// Which stored image a `parent: {image: …}` takes, and the identity recorded for a tarball parent.
@Suite struct ParentResolutionTests {
    func store(with entries: [String], in scratch: TemporaryDirectory) throws -> ImageStore {
        let home = HallmarkHome(root: scratch.path + "/home")
        for entry in entries {
            let (version, build) = (String(entry.split(separator: "-")[0]), Int(entry.split(separator: "-")[1])!)
            let directory = home.images + "/base/" + entry
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try ImageArtifacts(
                name: "base", version: version, build: build, recipeDigest: "", builtAt: Date(), kernelVersion: "",
                kernelCommandLine: "", files: ["disk.raw": "disk.raw"], packages: [], steps: []
            ).write(to: directory)
        }
        // A build still being written (claimed, no image.json) is never a parent.
        try FileManager.default.createDirectory(atPath: home.images + "/base/1.9.0-1", withIntermediateDirectories: true)
        return ImageStore(home: home)
    }

    @Test func theNewestMatchingVersionAndItsNewestBuild() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let store = try store(with: ["1.2.0-1", "1.10.0-1", "1.10.0-3", "1.10.0-2", "2.0.0-1"], in: scratch)
        let pattern = try #require(VersionPattern("1.x.x"))
        let newest = try store.newest(name: "base", matching: { SemanticVersion($0).map(pattern.matches) ?? false })
        #expect(newest?.reference == "base 1.10.0/3")
        let exact = try #require(VersionPattern("1.2.x"))
        #expect(try store.newest(name: "base", matching: { SemanticVersion($0).map(exact.matches) ?? false })?.reference == "base 1.2.0/1")
        #expect(try store.newest(name: "base", matching: { _ in false }) == nil)
        #expect(try store.newest(name: "other", matching: { _ in true }) == nil)
    }

    @Test func aMissingImageNamesWhatWasAskedFor() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let store = try store(with: ["2.0.0-1"], in: scratch)
        let parent = Recipe.Parent.image(.init(name: "base", version: try #require(VersionPattern("1.x.x"))))
        do {
            _ = try await ParentSource.resolve(parent, store: store)
            Issue.record("resolved an image that is not in the store")
        } catch let error as HallmarkError {
            #expect(error.description.contains("no image base with a version matching 1.x.x"), "\(error)")
        }
    }

    @Test func aTarballParentIsKnownByItsDigest() async throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let path = try scratch.write("root.tar", "not really a tar")
        let source = try #require(try await ParentSource.resolve(.tarball(path), store: ImageStore(home: HallmarkHome(root: scratch.path))))
        #expect(source.record == ParentRecord(kind: "tarball", reference: path, sha256: Digest.sha256("not really a tar")))
        _ = try scratch.write("root.tar", "edited")
        let edited = try #require(try await ParentSource.resolve(.tarball(path), store: ImageStore(home: HallmarkHome(root: scratch.path))))
        #expect(edited.key != source.key, "an edited tarball must not reuse the layer cache")
    }
}
