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

    func store(_ cache: LayerCache, key: String, after previous: String = "base", tree: String, log: String) async throws
        -> LayerCache.Entry
    {
        try await cache.store(
            key: key, previousKey: previous, position: 1, component: "one", recipe: "r", steps: [], sourceDateEpoch: 5, tree: tree,
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
        #expect(try String(contentsOfFile: cache.treePath("a") + "/etc/hostname", encoding: .utf8) == "x\n")

        // A tree fails to copy (the tree is gone): nothing is left under the key, not even aside.
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

    func inode(_ path: String) throws -> UInt64 {
        try (FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as! NSNumber).uint64Value
    }

    @Test func anEntryLinksWhatItsComponentLeftAloneAndARestoreCopies() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-layers")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        let tree = scratch.file("tree")
        try FileManager.default.createDirectory(atPath: tree + "/etc", withIntermediateDirectories: true)
        let kept = String(repeating: "kept\n", count: 2000)
        try kept.write(toFile: tree + "/etc/kept", atomically: false, encoding: .utf8)
        try "one\n".write(toFile: tree + "/etc/changed", atomically: false, encoding: .utf8)
        let cache = LayerCache(directory: scratch.file("layers"))
        let a = try await store(cache, key: "a", tree: tree, log: scratch.file("log"))
        #expect(a.sizeBytes == UInt64(kept.utf8.count + 4))

        // The next component rewrites one file (same size, so only its time tells) and adds one.
        try await Task.sleep(for: .milliseconds(10))
        try "two\n".write(toFile: tree + "/etc/changed", atomically: false, encoding: .utf8)
        try "new\n".write(toFile: tree + "/etc/added", atomically: false, encoding: .utf8)
        // What a restore must keep: numeric owners, modes, times, hard links, symlinks, xattrs.
        try FileManager.default.linkItem(atPath: tree + "/etc/added", toPath: tree + "/etc/added-link")
        try FileManager.default.createSymbolicLink(atPath: tree + "/etc/pointer", withDestinationPath: "added")
        #expect(chown(tree + "/etc/added", 1234, 5678) == 0)
        #expect(chmod(tree + "/etc/added", 0o4750) == 0)
        // Swift's Glibc module has no xattr calls; Python's os module does.
        try await HostCommand("python3", ["-c", "import os, sys; os.setxattr(sys.argv[1], 'user.hallmark', b'kept')", tree + "/etc/added"])
            .run()
        let b = try await store(cache, key: "b", after: "a", tree: tree, log: scratch.file("log"))
        #expect(b.sizeBytes == 8)
        #expect(try inode(cache.treePath("b") + "/etc/kept") == inode(cache.treePath("a") + "/etc/kept"))
        #expect(try inode(cache.treePath("b") + "/etc/changed") != inode(cache.treePath("a") + "/etc/changed"))
        #expect(try String(contentsOfFile: cache.treePath("b") + "/etc/changed", encoding: .utf8) == "two\n")
        #expect(try String(contentsOfFile: cache.treePath("a") + "/etc/changed", encoding: .utf8) == "one\n")

        // A restored tree is a copy: a component writing into it changes no entry.
        let restored = scratch.file("restored")
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: false)
        try await cache.restoreCommand("b", into: restored).run(logPath: scratch.file("log"))
        #expect(try inode(restored + "/etc/kept") != inode(cache.treePath("b") + "/etc/kept"))
        let (original, copy) = (
            try FileManager.default.attributesOfItem(atPath: tree + "/etc/added"),
            try FileManager.default.attributesOfItem(atPath: restored + "/etc/added")
        )
        for key: FileAttributeKey in [.ownerAccountID, .groupOwnerAccountID, .posixPermissions, .modificationDate, .size] {
            #expect(copy[key] as? NSObject == original[key] as? NSObject, "\(key)")
        }
        #expect(try inode(restored + "/etc/added") == inode(restored + "/etc/added-link"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: restored + "/etc/pointer") == "added")
        let xattr = try await HostCommand(
            "python3", ["-c", "import os, sys; print(os.getxattr(sys.argv[1], 'user.hallmark').decode())", restored + "/etc/added"]
        ).output()
        #expect(xattr == "kept\n")
        try "edited\n".write(toFile: restored + "/etc/kept", atomically: false, encoding: .utf8)
        #expect(try String(contentsOfFile: cache.treePath("a") + "/etc/kept", encoding: .utf8) == kept)

        // Removing the entry before leaves the later one whole; an entry of the old layout is pruned.
        #expect(try cache.prune(keep: 1, olderThan: nil).count == 1)
        #expect(try String(contentsOfFile: cache.treePath(cache.list()[0].key) + "/etc/kept", encoding: .utf8) == kept)
        try FileManager.default.createDirectory(atPath: cache.directory + "/old", withIntermediateDirectories: false)
        try "".write(toFile: cache.directory + "/old/tree.tar", atomically: false, encoding: .utf8)
        _ = try cache.prune(keep: nil, olderThan: nil)
        #expect(!FileManager.default.fileExists(atPath: cache.directory + "/old"))
    }
}
