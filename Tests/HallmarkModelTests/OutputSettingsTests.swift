import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

/// `outputs`, `disk.compress` and `build.source_date_epoch`: what a recipe may ask an image build to write.
@Suite struct OutputSettingsTests {
    static func recipe(_ rest: String) -> String {
        "name: x\nversion: 1.0.0\nparent:\n  debian:\n    suite: bookworm\n" + rest
    }

    func load(_ text: String, in scratch: Scratch) throws -> Recipe {
        try Recipe.load(path: try scratch.write("r.yaml", text))
    }

    @Test func everyOutputTogetherWithSettings() throws {
        let scratch = try Scratch()
        let recipe = try load(
            Self.recipe("outputs: [raw, qcow2, tar, oci]\ndisk: {size: 1G, compress: true}\nbuild: {source_date_epoch: 1700000000}\n"),
            in: scratch)
        #expect(recipe.outputs == [.raw, .qcow2, .tar, .oci])
        #expect(recipe.outputs.map(\.evidence) == [.booted, .booted, .derived, .derived])
        #expect(recipe.outputs.map(\.artifactName) == ["disk.raw", "disk.qcow2", "rootfs.tar", "oci"])
        #expect(recipe.disk.compress)
        #expect(recipe.build.sourceDateEpoch == 1_700_000_000)
    }

    @Test func defaultsAreAnUncompressedQcow2AndNoEpoch() throws {
        let recipe = try load(Self.recipe(""), in: try Scratch())
        #expect(recipe.outputs == [.qcow2])
        #expect(!recipe.disk.compress)
        #expect(recipe.build.sourceDateEpoch == nil)
    }

    /// The settings are part of what an image is made from; their defaults leave older digests as they were.
    @Test func compressionAndEpochChangeTheBuildDigestOnlyWhenSet() throws {
        let scratch = try Scratch()
        let plain = try load(Self.recipe("disk: {size: 1G}\n"), in: scratch).buildDigest(components: [])
        let explicitDefault = try load(Self.recipe("disk: {size: 1G, compress: false}\n"), in: scratch).buildDigest(components: [])
        let compressed = try load(Self.recipe("disk: {size: 1G, compress: true}\n"), in: scratch).buildDigest(components: [])
        let dated = try load(Self.recipe("disk: {size: 1G}\nbuild: {source_date_epoch: 1}\n"), in: scratch).buildDigest(components: [])
        #expect(plain == explicitDefault)
        #expect(Set([plain, compressed, dated]).count == 3)
    }

    @Test(arguments: [
        ("outputs: [tar, oci]\n", "outputs must include a disk (raw or qcow2)", 6, 10),
        ("outputs: [qcow2, tar, tar]\n", "output 'tar' is named twice", 6, 23),
        ("outputs: [qcow2, zip]\n", "unsupported output 'zip'; expected one of: raw, qcow2, tar, oci", 6, 18),
        ("build: {source_date_epoch: yesterday}\n", "source_date_epoch must be a number of seconds", 6, 28),
        ("build: {source_date_epoch: -1}\n", "source_date_epoch must be a number of seconds", 6, 28),
        ("disk: {compress: maybe}\n", "must be true or false", 6, 18),
    ])
    func badOutputSettingsAreReportedAtTheirPosition(text: String, expected: String, line: Int, column: Int) throws {
        let scratch = try Scratch()
        let error = try #require(throws: HallmarkError.self) { try load(Self.recipe(text), in: scratch) }
        #expect(error.code == .invalidInput, "\(error)")
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location == SourceLocation(file: scratch.directory + "/r.yaml", line: line, column: column), "\(error)")
    }
}
