import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// The tree after each component, so a rebuild after editing only the last component starts from
/// the state before it. An entry's key chains the key before it with the component's digest and
/// parameters, starting from the parent's key and what the build does before any component; an
/// entry is a directory `<key>/` holding the tree as a directory `tree/` and `entry.json`, written
/// aside and renamed, so it is complete or absent. A file a component left unchanged (same size,
/// modification time to the nanosecond, mode and owner) is a hard link to the entry before, so a
/// twelve-component recipe costs one tree and what its components wrote, not twelve trees.
public struct LayerCache: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// `$HALLMARK_HOME/cache/layers`.
    public init(home: HallmarkHome) {
        self.init(directory: home.root + "/cache/layers")
    }

    /// Bumped when what the builder does to a tree before the components changes, so no entry
    /// made the old way is reused.
    static let treeSetupVersion = "3"

    public struct Entry: Codable, Sendable, Equatable {
        public var key: String
        /// The key of the state it was made from (the entry before it, or the parent's base).
        public var previousKey: String
        /// 1 for the tree after the first component.
        public var position: Int
        public var component: String
        public var recipe: String
        /// The bytes this entry adds: the files its component wrote (all of them for an entry
        /// stored without the one before it).
        public var sizeBytes: UInt64
        public var createdAt: Date
        /// Last used by a build (or created); `prune --keep` keeps the most recently used.
        public var usedAt: Date
        /// The build and validate steps of every component up to this one, for the image's record
        /// when the entry is reused.
        public var steps: [StepRecord]
        /// Taken from the parent before the first component, so a warm build clamps as a cold one.
        public var sourceDateEpoch: Int
    }

    /// The key of the tree before any component: the parent, and what the builder writes into it
    /// first (the hostname is the recipe's name, the initrd's module list) and lets steps see.
    public static func baseKey(parentKey: String, recipe: Recipe) -> String {
        let environment = recipe.build.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return Digest.sha256(
            ([
                "parent=\(parentKey)", "setup=\(treeSetupVersion)", "hostname=\(recipe.name)", "network=\(recipe.build.network)",
                "initramfs=\(recipe.build.initramfs.rawValue)",
            ] + environment.map { "env:" + $0 }).joined(separator: "\n"))
    }

    /// The key of the tree after `component` ran with `parameters` on the tree of `previous`.
    public static func key(after previous: String, component: Component, parameters: [String: String]) -> String {
        let parameters = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return Digest.sha256(
            (["previous=\(previous)", "component=\(component.digest)"] + parameters.map { "param:" + $0 }).joined(separator: "\n"))
    }

    func entryDirectory(_ key: String) -> String { directory + "/" + key }
    public func treePath(_ key: String) -> String { entryDirectory(key) + "/tree" }

    /// The entry under `key`, when complete.
    public func entry(_ key: String) -> Entry? {
        guard FileManager.default.fileExists(atPath: treePath(key)),
            let data = FileManager.default.contents(atPath: entryDirectory(key) + "/entry.json")
        else { return nil }
        return try? JSONDecoder.hallmark.decode(Entry.self, from: data)
    }

    /// Records that a build reused the entry.
    public func markUsed(_ entry: Entry, at time: Date = Date()) {
        var used = entry
        used.usedAt = time
        try? JSONEncoder.hallmark.encode(used).write(to: URL(fileURLWithPath: entryDirectory(entry.key) + "/entry.json"), options: .atomic)
    }

    /// Copies a tree exactly (hard links, ACLs, xattrs, numeric owners, times to the nanosecond):
    /// it is a cache, not an output. With `linkingTo`, unchanged files become hard links into it.
    static func copyCommand(tree: String, into destination: String, linkingTo unchanged: String? = nil) -> HostCommand {
        HostCommand(
            "rsync",
            ["--archive", "--hard-links", "--acls", "--xattrs", "--numeric-ids", "--modify-window=-1", "--stats"]
                + (unchanged.map { ["--link-dest=" + $0] } ?? []) + [tree + "/", destination + "/"],
            environment: ["LC_ALL": "C"])
    }

    /// Restores the tree of an entry into `rootfs` as copies, so the next component cannot change the
    /// cache. `cp -a` keeps what rsync's flags above keep (owners as numbers, modes, times, hard
    /// links, xattrs and so ACLs) and has nothing to compare: measured on the 15,790 files of a
    /// bookworm tree, 1.5 s against rsync's 3.8–7.0 s.
    public func restoreCommand(_ key: String, into rootfs: String) -> HostCommand {
        HostCommand("cp", ["--archive", "--", treePath(key) + "/.", rootfs])
    }

    /// "Total transferred file size: 1,234 bytes" from rsync's `--stats`: what was copied, not linked.
    static func transferredBytes(inStats output: String) -> UInt64? {
        guard let line = output.split(separator: "\n").last(where: { $0.hasPrefix("Total transferred file size:") }) else { return nil }
        return UInt64(line.dropFirst("Total transferred file size:".count).filter(\.isNumber))
    }

    /// Stores `tree` under `key`, linking what is unchanged since the entry `previousKey` when it
    /// is cached; an entry another build stored meanwhile is kept instead.
    public func store(
        key: String, previousKey: String, position: Int, component: String, recipe: String, steps: [StepRecord],
        sourceDateEpoch: Int, tree: String, logPath: String
    ) async throws -> Entry {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let partial = directory + "/.partial-\(key.prefix(16))-\(UUID().uuidString.prefix(8))"
        ChildRegistry.shared.addDirectory(partial)
        defer {
            try? FileManager.default.removeItem(atPath: partial)
            ChildRegistry.shared.removeDirectory(partial)
        }
        try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: false)
        guard FileManager.default.fileExists(atPath: tree) else {
            throw HallmarkError(.hostFailure, "cannot store layer \(key): the tree \(tree) does not exist")
        }
        let previous = entry(previousKey).map { treePath($0.key) }
        try await Self.copyCommand(tree: tree, into: partial + "/tree", linkingTo: previous).run(logPath: logPath)
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let size = Self.transferredBytes(inStats: lastLines(of: log, count: 30)) ?? 0
        // Whole seconds, as entry.json keeps them.
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let entry = Entry(
            key: key, previousKey: previousKey, position: position, component: component, recipe: recipe, sizeBytes: size,
            createdAt: now, usedAt: now, steps: steps,
            sourceDateEpoch: sourceDateEpoch)
        try JSONEncoder.hallmark.encode(entry).write(to: URL(fileURLWithPath: partial + "/entry.json"))
        if rename(partial, entryDirectory(key)) != 0 {
            guard errno == EEXIST || errno == ENOTEMPTY, let existing = self.entry(key) else {
                throw HallmarkError(.hostFailure, "cannot store layer \(key) in \(directory): \(String(cString: strerror(errno)))")
            }
            return existing
        }
        return entry
    }

    /// After a build of `recipe`: its entries that are not on the chain it just used are
    /// superseded (an earlier version of an edited component), so each recipe keeps one chain.
    public func removeSuperseded(recipe: String, keeping chain: Set<String>) -> [Entry] {
        let superseded = list().filter { $0.recipe == recipe && !chain.contains($0.key) }
        return superseded.filter { remove($0) }
    }

    /// Renamed aside first, so no build finds a half-removed entry.
    @discardableResult
    func remove(_ entry: Entry) -> Bool {
        let doomed = directory + "/.removing-\(entry.key.prefix(16))-\(UUID().uuidString.prefix(8))"
        guard rename(entryDirectory(entry.key), doomed) == 0 else { return false }
        try? FileManager.default.removeItem(atPath: doomed)
        return true
    }

    /// Every complete entry, most recently used first.
    public func list() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { !$0.hasPrefix(".") }.compactMap(entry).sorted { ($0.usedAt, $0.key) > ($1.usedAt, $1.key) }
    }

    /// Removes entries beyond the `keep` most recently used and those unused since `olderThan`
    /// before now; returns what it removed. Leftovers of interrupted writes and entries of an
    /// older layout (a `tree.tar`) go too.
    public func prune(keep: Int?, olderThan: TimeInterval?, now: Date = Date()) throws -> [Entry] {
        let entries = list()
        let removed = entries.enumerated().filter { index, entry in
            (keep.map { index >= $0 } ?? false) || (olderThan.map { now.timeIntervalSince(entry.usedAt) > $0 } ?? false)
        }.map(\.element)
        for entry in removed { remove(entry) }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let current = Set(list().map(\.key))
        for name in names where name.hasPrefix(".removing-") || (!name.hasPrefix(".") && !current.contains(name)) {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        return removed
    }
}

/// The layer keys of one build, in component order.
struct LayerPlan {
    var baseKey: String
    var keys: [String]
    /// The components' names, for the log and the cache listing.
    var components: [String]

    init(baseKey: String, components: [Component], references: [Recipe.ComponentReference]) {
        self.baseKey = baseKey
        var previous = baseKey
        keys = zip(components, references).map { component, reference in
            previous = LayerCache.key(after: previous, component: component, parameters: reference.parameters)
            return previous
        }
        self.components = components.map(\.name)
    }

    /// The cached tree after the latest component that has one.
    func newestCached(in cache: LayerCache) -> LayerCache.Entry? {
        keys.indices.reversed().lazy.compactMap { cache.entry(keys[$0]) }.first
    }
}
