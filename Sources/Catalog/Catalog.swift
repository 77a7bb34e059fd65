import Foundation
import GRDB
import HallmarkModel
import HallmarkSupport
import ImageStore

/// The catalog of built, tested and released images: `$HALLMARK_HOME/catalog.sqlite`, beside the
/// image store it extends. Every change is one IMMEDIATE transaction, so processes sharing the file
/// (two pipelines, two CI jobs on one host) serialise their writes and never see half of one.
public struct Catalog: Sendable {
    let database: DatabasePool
    public let store: ImageStore
    public let path: String

    /// What `open` did besides opening: builds taken over from the store and interrupted builds marked FAILED.
    public struct Housekeeping: Sendable, Equatable {
        public var imported: [String] = []
        public var interrupted: [String] = []
        /// AVAILABLE builds whose re-distribution was killed: AVAILABLE again.
        public var redistributionsInterrupted: [String] = []
    }

    /// Opens (creating and migrating when needed) the catalog of `home`, imports store builds it
    /// does not know yet, and marks FAILED the builds whose process is gone.
    public static func open(home: HallmarkHome) async throws -> (Catalog, Housekeeping) {
        try FileManager.default.createDirectory(atPath: home.root, withIntermediateDirectories: true)
        let path = home.root + "/catalog.sqlite"
        // Creating the file, switching it to WAL and migrating are not safe against a second process
        // doing the same at the same moment; the lock makes the first open of a home one at a time.
        let lock = try await FileLock.acquire(home.root + "/catalog.lock")
        defer { _ = lock }
        var configuration = Configuration()
        // A writer waits for another process's transaction instead of failing at once.
        configuration.busyMode = .timeout(60)
        let database: DatabasePool
        do {
            database = try DatabasePool(path: path, configuration: configuration)
            try CatalogSchema.migrator.migrate(database)
        } catch {
            throw HallmarkError(.hostFailure, "cannot open the catalog \(path)", cause: error)
        }
        let catalog = Catalog(database: database, store: ImageStore(home: home), path: path)
        let housekeeping = try await catalog.housekeeping()
        return (catalog, housekeeping)
    }

    // MARK: Changes

    /// Starts build `version` of `image`: takes the next build number (never one another process
    /// took, in the catalog or in the store) and records the build as BUILDING, owned by this process.
    public func beginBuild(image: String, version: String, buildDigest: String?, parent: String? = nil) async throws -> CatalogBuild {
        guard let semantic = SemanticVersion(version) else {
            throw HallmarkError(.usage, "version must be major.minor.patch, got '\(version)'")
        }
        let store = self.store
        let owner = BuildOwner.current
        return try await write { db in
            let now = Date()
            try db.execute(sql: "INSERT OR IGNORE INTO image (name, createdAt) VALUES (?, ?)", arguments: [image, now])
            let highest = try Int.fetchOne(
                db, sql: "SELECT MAX(number) FROM build WHERE image = ? AND version = ?", arguments: [image, version])
            let number = try store.reserveNextBuild(name: image, version: version, atLeast: (highest ?? 0) + 1)
            try db.execute(
                sql: """
                    INSERT INTO build (image, version, major, minor, patch, number, state, buildDigest, directory, parent,
                                       ownerHost, ownerProcess, ownerStarted, createdAt, updatedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    image, version, semantic.major, semantic.minor, semantic.patch, number, BuildState.building.rawValue, buildDigest,
                    store.directory(name: image, version: version, build: number), parent, owner.host, owner.process, owner.started, now,
                    now,
                ])
            let id = db.lastInsertedRowID
            try Self.insertStateChange(db, build: id, state: .building, note: nil, at: now)
            return try Self.fetchBuild(db, id: id)!
        }
    }

    /// Moves a build to `state`. An active state makes this process its owner; any other ends ownership.
    @discardableResult
    public func setState(_ build: CatalogBuild, _ state: BuildState, note: String? = nil) async throws -> CatalogBuild {
        let owner = BuildOwner.current
        return try await write { db in
            let now = Date()
            let active = state.isActive
            try db.execute(
                sql: "UPDATE build SET state = ?, updatedAt = ?, ownerHost = ?, ownerProcess = ?, ownerStarted = ? WHERE id = ?",
                arguments: [
                    state.rawValue, now, active ? owner.host : nil, active ? owner.process : nil, active ? owner.started : nil, build.id,
                ])
            try Self.insertStateChange(db, build: build.id, state: state, note: note, at: now)
            guard let updated = try Self.fetchBuild(db, id: build.id) else {
                throw HallmarkError(.internalError, "build \(build.reference) vanished from the catalog")
            }
            return updated
        }
    }

    /// Moves a build to `state` only if it is still in one of `from`, in one transaction: nil when
    /// another process moved it first. What lifecycle uses, so it never retires a build under a
    /// distribution or a test that started meanwhile.
    public func transition(_ build: CatalogBuild, from: Set<BuildState>, to state: BuildState, note: String?) async throws
        -> CatalogBuild?
    {
        try await write { db in
            guard let current = try Self.fetchBuild(db, id: build.id), from.contains(current.state) else { return nil }
            let now = Date()
            try db.execute(
                sql: "UPDATE build SET state = ?, updatedAt = ?, ownerHost = NULL, ownerProcess = NULL, ownerStarted = NULL WHERE id = ?",
                arguments: [state.rawValue, now, build.id])
            try Self.insertStateChange(db, build: build.id, state: state, note: note, at: now)
            return try Self.fetchBuild(db, id: build.id)
        }
    }

    public func recordTestRun(_ build: CatalogBuild, _ run: TestRun) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO testRun (build, verdict, reportDigest, envelopeDigest, reportDirectory, inputsDigest, at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [build.id, run.verdict, run.reportDigest, run.envelopeDigest, run.reportDirectory, run.inputsDigest, run.at])
        }
    }

    public func recordDistribution(_ build: CatalogBuild, _ distribution: Distribution) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO distribution (build, target, state, detail, at) VALUES (?, ?, ?, ?, ?)",
                arguments: [build.id, distribution.target, distribution.state, distribution.detail, distribution.at])
        }
    }

    // MARK: Queries

    /// Every build, or every build of `image`: by image, then version, then build number.
    public func builds(image: String? = nil) async throws -> [CatalogBuild] {
        try await database.read { db in
            try CatalogBuild.fetchAll(
                db, sql: "SELECT * FROM build WHERE ? IS NULL OR image = ? ORDER BY image, major, minor, patch, number",
                arguments: [image, image])
        }
    }

    /// The build a selector means: the exact build when it names one, else the newest AVAILABLE
    /// build that matches. Says what there is when nothing matches.
    public func resolve(_ selector: BuildSelector) async throws -> CatalogBuild {
        let all = try await builds(image: selector.image)
        guard !all.isEmpty else {
            let known = try await database.read { db in try String.fetchAll(db, sql: "SELECT name FROM image ORDER BY name") }
            throw HallmarkError(
                .usage,
                "no image '\(selector.image)' in the catalog; it has \(known.isEmpty ? "no images yet" : known.joined(separator: ", "))")
        }
        let matching = all.filter { build in
            guard let version = SemanticVersion(build.version) else { return false }
            return (selector.major.map { $0 == version.major } ?? true) && (selector.minor.map { $0 == version.minor } ?? true)
                && (selector.patch.map { $0 == version.patch } ?? true) && (selector.number.map { $0 == build.number } ?? true)
        }
        if selector.isExact, let build = matching.first { return build }
        // `builds` is in version and build order: the newest is last.
        if !selector.isExact, let newest = matching.last(where: { $0.state == .available }) { return newest }
        let seen = matching.map { "\($0.version)/\($0.number) \($0.state.rawValue)" }
        throw HallmarkError(
            .usage,
            selector.isExact
                ? "no build \(selector) in the catalog"
                : "no AVAILABLE build matches \(selector)" + (seen.isEmpty ? "" : " (there are: \(seen.joined(separator: ", ")))"))
    }

    /// A build with its states, test runs and distributions, oldest first.
    public func history(of build: CatalogBuild) async throws -> BuildHistory {
        try await database.read { db in
            BuildHistory(
                build: try Self.fetchBuild(db, id: build.id) ?? build,
                states: try StateChange.fetchAll(
                    db, sql: "SELECT state, at, note FROM stateChange WHERE build = ? ORDER BY id", arguments: [build.id]),
                testRuns: try TestRun.fetchAll(
                    db,
                    sql:
                        "SELECT verdict, reportDigest, envelopeDigest, reportDirectory, inputsDigest, at FROM testRun WHERE build = ? ORDER BY id",
                    arguments: [build.id]),
                distributions: try Distribution.fetchAll(
                    db, sql: "SELECT target, state, detail, at FROM distribution WHERE build = ? ORDER BY id", arguments: [build.id]))
        }
    }

    // MARK: Internals

    /// One IMMEDIATE transaction: the write lock is taken at the start, so two processes' read-then-write
    /// (the highest build number, then the new one) can never interleave.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let error as HallmarkError {
            throw error
        } catch {
            throw HallmarkError(.hostFailure, "cannot write to the catalog \(path)", cause: error)
        }
    }

    /// Builds in the store the catalog does not know (made before it existed) become AVAILABLE
    /// builds; builds left BUILDING, TESTING or DISTRIBUTING by a process that is gone become FAILED.
    func housekeeping() async throws -> Housekeeping {
        let store = self.store
        let images = store.home.images
        return try await write { db in
            var done = Housekeeping()
            let now = Date()
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT id, image, version, number, state, ownerHost, ownerProcess, ownerStarted FROM build WHERE state IN (?, ?, ?)",
                arguments: [BuildState.building.rawValue, BuildState.testing.rawValue, BuildState.distributing.rawValue])
            for row in rows {
                let owner = BuildOwner(
                    host: row["ownerHost"] ?? "", process: row["ownerProcess"] ?? 0, started: row["ownerStarted"] ?? "")
                guard !owner.isAlive else { continue }
                let id: Int64 = row["id"]
                let reference = "\(row["image"] as String)@\(row["version"] as String)/\(row["number"] as Int)"
                // A re-distribution of an AVAILABLE build that was killed leaves a build as good as before:
                // it goes back to AVAILABLE (the targets show whole files or none) and a re-run completes it.
                let before = try String.fetchOne(
                    db, sql: "SELECT state FROM stateChange WHERE build = ? ORDER BY id DESC LIMIT 1 OFFSET 1", arguments: [id])
                if row["state"] == BuildState.distributing.rawValue, before == BuildState.available.rawValue {
                    try db.execute(
                        sql:
                            "UPDATE build SET state = ?, updatedAt = ?, ownerHost = NULL, ownerProcess = NULL, ownerStarted = NULL WHERE id = ?",
                        arguments: [BuildState.available.rawValue, now, id])
                    try Self.insertStateChange(
                        db, build: id, state: .available,
                        note: "distribution interrupted: its process \(owner.process) on \(owner.host) is gone; re-run distribute", at: now)
                    done.redistributionsInterrupted.append(reference)
                    continue
                }
                try db.execute(
                    sql:
                        "UPDATE build SET state = ?, updatedAt = ?, ownerHost = NULL, ownerProcess = NULL, ownerStarted = NULL WHERE id = ?",
                    arguments: [BuildState.failed.rawValue, now, id])
                try Self.insertStateChange(
                    db, build: id, state: .failed, note: "interrupted: its process \(owner.process) on \(owner.host) is gone", at: now)
                done.interrupted.append(reference)
            }
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: images)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
            for name in names {
                let entries = ((try? FileManager.default.contentsOfDirectory(atPath: images + "/" + name)) ?? []).sorted()
                for entry in entries {
                    guard let artifacts = try? ImageArtifacts.load(directory: images + "/\(name)/\(entry)"),
                        artifacts.name == name, let version = SemanticVersion(artifacts.version),
                        entry == "\(artifacts.version)-\(artifacts.build)"
                    else { continue }
                    let known = try Bool.fetchOne(
                        db, sql: "SELECT EXISTS (SELECT 1 FROM build WHERE image = ? AND version = ? AND number = ?)",
                        arguments: [name, artifacts.version, artifacts.build])
                    guard known != true else { continue }
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO image (name, createdAt) VALUES (?, ?)", arguments: [name, artifacts.builtAt])
                    try db.execute(
                        sql: """
                            INSERT INTO build (image, version, major, minor, patch, number, state, buildDigest, directory, createdAt, updatedAt)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            name, artifacts.version, version.major, version.minor, version.patch, artifacts.build,
                            BuildState.available.rawValue, artifacts.buildDigest, artifacts.directory, artifacts.builtAt, now,
                        ])
                    try Self.insertStateChange(
                        db, build: db.lastInsertedRowID, state: .available, note: "imported from the image store, built before the catalog",
                        at: now)
                    done.imported.append("\(name)@\(artifacts.version)/\(artifacts.build)")
                }
            }
            return done
        }
    }

    static func insertStateChange(_ db: Database, build: Int64, state: BuildState, note: String?, at: Date) throws {
        try db.execute(
            sql: "INSERT INTO stateChange (build, state, at, note) VALUES (?, ?, ?, ?)", arguments: [build, state.rawValue, at, note])
    }

    static func fetchBuild(_ db: Database, id: Int64) throws -> CatalogBuild? {
        try CatalogBuild.fetchOne(db, sql: "SELECT * FROM build WHERE id = ?", arguments: [id])
    }
}

extension CatalogBuild: FetchableRecord {}
extension StateChange: FetchableRecord {}
extension TestRun: FetchableRecord {}
extension Distribution: FetchableRecord {}
