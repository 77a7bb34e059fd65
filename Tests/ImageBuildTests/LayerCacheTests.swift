import Foundation
import HallmarkTestSupport
import Testing

@testable import HallmarkModel
@testable import HallmarkSupport
@testable import ImageBuild
@testable import ImageStore

/// The layer cache on small trees: keys chain, entries are complete or absent, prune keeps the
/// most recently used.
@Suite(.enabled(if: getuid() == 0, "needs root (owners of a tree)"), .tags(.root))
struct LayerCacheTests {
    static let component = """
        name: one
        schemaVersion: 1.0
        phases:
          - name: build
            steps:
              - {name: S, action: ExecuteBash, inputs: {commands: ["echo 1"]}}
        """

    @Test func aKeyChangesWithTheComponentItsParametersAndEverythingBefore() throws {
        let first = try loadComponent(Self.component)
        let edited = try loadComponent(Self.component.replacingOccurrences(of: "echo 1", with: "echo 2"))
        let base = "base"
        let key = LayerCache.key(after: base, component: first, parameters: ["A": "1"])
        #expect(key == LayerCache.key(after: base, component: first, parameters: ["A": "1"]))
        #expect(key != LayerCache.key(after: base, component: edited, parameters: ["A": "1"]))
        #expect(key != LayerCache.key(after: base, component: first, parameters: ["A": "2"]))
        #expect(key != LayerCache.key(after: "other base", component: first, parameters: ["A": "1"]))
    }

    func store(_ cache: LayerCache, key: String, tree: String, log: String) async throws -> LayerCache.Entry {
        try await cache.store(
            key: key, previousKey: "base", position: 1, component: "one", recipe: "r", steps: [], sourceDateEpoch: 5, tree: tree,
            logPath: log)
    }

    @Test func anEntryIsCompleteOrAbsentAndPruneKeepsTheMostRecentlyUsed() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-layers")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        let tree = scratch.file("tree")
        try FileManager.default.createDirectory(atPath: tree + "/etc", withIntermediateDirectories: true)
        try "x\n".write(toFile: tree + "/etc/hostname", atomically: false, encoding: .utf8)
        let cache = LayerCache(directory: scratch.file("layers"))
        #expect(cache.entry("a") == nil)

        let a = try await store(cache, key: "a", tree: tree, log: scratch.file("log"))
        #expect(cache.entry("a") == a)
        #expect(a.sizeBytes > 0 && a.sourceDateEpoch == 5)
        let listing = try await HostCommand("tar", ["--list", "--file", cache.treePath("a")]).output()
        #expect(listing.contains("./etc/hostname"))

        // A tree tar fails to write (the tree is gone): nothing is left under the key, not even aside.
        await #expect(throws: HallmarkError.self) {
            _ = try await store(cache, key: "b", tree: scratch.file("missing"), log: scratch.file("log"))
        }
        #expect(cache.entry("b") == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.directory) == ["a"])

        _ = try await store(cache, key: "b", tree: tree, log: scratch.file("log"))
        _ = try await store(cache, key: "c", tree: tree, log: scratch.file("log"))
        cache.markUsed(a, at: Date().addingTimeInterval(60))
        #expect(cache.list().map(\.key) == ["a", "c", "b"])
        // Another recipe's build keeps only its own chain: none of these is its.
        #expect(cache.removeSuperseded(recipe: "other", keeping: []).isEmpty)
        #expect(cache.list().count == 3)
        #expect(try cache.prune(keep: 2, olderThan: nil).map(\.key) == ["b"])
        #expect(cache.list().map(\.key) == ["a", "c"])
        #expect(try cache.prune(keep: nil, olderThan: 3600, now: Date().addingTimeInterval(7300)).count == 2)
        #expect(cache.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.directory).isEmpty)
    }
}
