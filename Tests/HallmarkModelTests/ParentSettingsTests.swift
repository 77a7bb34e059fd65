import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

/// `parent:` beside a Debian suite: a rootfs tarball, a local disk, an earlier image by version pattern.
@Suite struct ParentSettingsTests {
    static func recipe(_ parent: String) -> String { "name: x\nversion: 1.0.0\nparent:\n" + parent }

    func load(_ text: String, in scratch: Scratch) throws -> Recipe {
        try Recipe.load(path: try scratch.write("r.yaml", text))
    }

    @Test func tarballAndDiskPathsResolveNextToTheRecipe() throws {
        let scratch = try Scratch()
        let tarball = try scratch.write("root.tar", "")
        let disk = try scratch.write("base.qcow2", "")
        #expect(try load(Self.recipe("  tarball: root.tar\n"), in: scratch).parent == .tarball(tarball))
        #expect(try load(Self.recipe("  disk: base.qcow2\n"), in: scratch).parent == .disk(disk))
    }

    @Test func aMissingFileIsRefusedAtItsLine() throws {
        let scratch = try Scratch()
        let error = try #require(throws: HallmarkError.self) { try load(Self.recipe("  tarball: gone.tar\n"), in: scratch) }
        #expect(error.description.contains("r.yaml:4:"), "\(error)")
        #expect(error.description.contains("gone.tar is not a file"), "\(error)")
    }

    @Test func anImageByVersionPattern() throws {
        let recipe = try load(Self.recipe("  image: {name: base, version: 1.x.x}\n"), in: try Scratch())
        guard case .image(let image) = recipe.parent else {
            Issue.record("parent is \(recipe.parent)")
            return
        }
        #expect(image.name == "base")
        #expect(image.version.description == "1.x.x")
        #expect(image.version.matches(SemanticVersion("1.4.2")!))
        #expect(!image.version.matches(SemanticVersion("2.0.0")!))
        #expect(VersionPattern("1.2.x")?.matches(SemanticVersion("1.2.9")!) == true)
        #expect(VersionPattern("1.2.x")?.matches(SemanticVersion("1.3.0")!) == false)
        #expect(VersionPattern("1.2.3")?.matches(SemanticVersion("1.2.3")!) == true)
    }

    @Test func badPatternsAndTwoKindsAtOnceAreRefused() throws {
        let scratch = try Scratch()
        for pattern in ["1.x", "1.*.*", "v1.x.x", "1.x.x.x"] {
            let error = try #require(throws: HallmarkError.self) {
                try load(Self.recipe("  image: {name: base, version: '\(pattern)'}\n"), in: scratch)
            }
            #expect(error.description.contains("e.g. 1.x.x"), "\(pattern): \(error)")
        }
        _ = try scratch.write("root.tar", "")
        let both = try #require(throws: HallmarkError.self) {
            try load(Self.recipe("  tarball: root.tar\n  debian: {suite: bookworm}\n"), in: scratch)
        }
        #expect(both.description.contains("exactly one of: debian, tarball, disk, image"), "\(both)")
    }

    /// Another parent changes what the image is made from; a Debian suite's digest stays as it was.
    @Test func theParentKindEntersTheBuildDigest() throws {
        let scratch = try Scratch()
        _ = try scratch.write("root.tar", "")
        let tarball = try load(Self.recipe("  tarball: root.tar\n"), in: scratch).buildDigest(components: [])
        let image = try load(Self.recipe("  image: {name: base, version: 1.x.x}\n"), in: scratch).buildDigest(components: [])
        let otherImage = try load(Self.recipe("  image: {name: base, version: 2.x.x}\n"), in: scratch).buildDigest(components: [])
        #expect(Set([tarball, image, otherImage]).count == 3)
    }
}
