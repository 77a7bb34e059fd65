import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@Suite struct PipelineDefinitionTests {
    /// A pipeline file beside a recipe, a waiver file and a key, as a repository lays them out.
    private func pipeline(_ text: String) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory(prefix: "hallmark-pipeline")
        _ = try directory.write("recipe.yaml", try String(contentsOfFile: Repository.fixture("minimal.yaml"), encoding: .utf8))
        _ = try directory.write("waivers.yaml", "waivers: []\n")
        _ = try directory.write("hallmark.key", "not read when loading\n")
        return (directory, try directory.write("pipeline.yaml", text))
    }

    @Test func theIssueExampleLoads() throws {
        let (directory, path) = try pipeline(
            """
            name: base-images
            recipe: recipe.yaml
            tests: {gate: medium, waivers: waivers.yaml}
            signing: {key: hallmark.key}
            distribute:
              - directory: /srv/images/eu-west-1
              - directory: regions/us-east-1
              - registry: 127.0.0.1:5000/images/debian-12-minimal
              - oci-layout: /srv/oci/debian-12-minimal
            lifecycle: {keep: 5, deprecate_after: 90d}
            """)
        defer { directory.remove() }
        let definition = try PipelineDefinition.load(path: path)
        #expect(definition.name == "base-images")
        #expect(definition.recipe == directory.file("recipe.yaml"))
        #expect(definition.gate == .medium)
        #expect(definition.waivers == directory.file("waivers.yaml"))
        #expect(definition.signingKey == directory.file("hallmark.key"))
        #expect(
            definition.targets == [
                .directory("/srv/images/eu-west-1"), .directory(directory.file("regions/us-east-1")),
                .registry("127.0.0.1:5000/images/debian-12-minimal"), .ociLayout("/srv/oci/debian-12-minimal"),
            ])
        #expect(definition.lifecycle == .init(keep: 5, deprecateAfterDays: 90, retainAtLeast: 1))
    }

    @Test func lifecycleTakesDeleteAfterAndRetainAtLeast() throws {
        let (directory, path) = try pipeline(
            "name: p\nrecipe: recipe.yaml\nlifecycle: {keep: 3, deprecate_after: 30d, delete_after: 180d, retain_at_least: 2}\n")
        defer { directory.remove() }
        let lifecycle = try PipelineDefinition.load(path: path).lifecycle
        #expect(lifecycle == .init(keep: 3, deprecateAfterDays: 30, deleteAfterDays: 180, retainAtLeast: 2))
    }

    @Test(arguments: [
        ("name: p\nrecipe: recipe.yaml\nsignin: {key: hallmark.key}\n", "pipeline.yaml:3:1", "signin"),
        ("name: p\nrecipe: recipe.yaml\ntests: {gate: medium, waiver: waivers.yaml}\n", "pipeline.yaml:3:23", "waiver"),
        ("name: p\nrecipe: recipe.yaml\nsigning: {key: hallmark.key}\ndistribute:\n  - s3: bucket\n", "pipeline.yaml:5:5", "s3"),
        (
            "name: p\nrecipe: recipe.yaml\nsigning: {key: hallmark.key}\ndistribute:\n  - {directory: a, registry: b/c}\n",
            "pipeline.yaml:5:5",
            "exactly one"
        ),
        ("name: p\nrecipe: recipe.yaml\ndistribute:\n  - directory: /srv/a\n", "pipeline.yaml:4:3", "signing.key"),
        ("name: p\nrecipe: missing.yaml\n", "pipeline.yaml:2:9", "recipe file"),
        ("name: p\nrecipe: recipe.yaml\nupdates: {sources: [{url: ftp://x, suite: s}]}\n", "pipeline.yaml:3:27", "http://"),
        ("name: p\nrecipe: recipe.yaml\nlifecycle: {deprecate_after: 3 months}\n", "pipeline.yaml:3:30", "90d"),
        ("name: p\nrecipe: recipe.yaml\nlifecycle: {keep: 2, delete_afte: 9d}\n", "pipeline.yaml:3:22", "delete_afte"),
        ("name: p\nrecipe: recipe.yaml\nlifecycle: {deprecate_after: 30d, delete_after: 30d}\n", "pipeline.yaml:3:49", "longer than"),
        (
            "name: p\nrecipe: recipe.yaml\nsigning: {key: hallmark.key}\ndistribute:\n  - registry: Not A Reference\n",
            "pipeline.yaml:5:15",
            "host[:port]/repository"
        ),
    ])
    func problemsAreReportedWhereTheyAre(text: String, location: String, mentions: String) throws {
        let (directory, path) = try pipeline(text)
        defer { directory.remove() }
        let error = #expect(throws: HallmarkError.self) { try PipelineDefinition.load(path: path) }
        #expect(error?.code == .invalidInput)
        #expect(error?.location.map { "\($0)".hasSuffix(location) } == true, "\(String(describing: error))")
        #expect(error?.description.contains(mentions) == true, "\(String(describing: error))")
    }
}
