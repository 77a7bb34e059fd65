import Catalog
import Distribution
import Foundation
import HallmarkSupport
import ImageStore

/// What applying one decision did: the state the build ended in, the files removed, and what was
/// left and why.
public struct LifecycleResult: Sendable, Equatable, Codable {
    public var decision: LifecycleDecision
    /// The state after applying; the state before for a dry run or a kept build.
    public var state: BuildState
    public var removed: [String]
    public var left: [DirectoryTarget.Withdrawal.Left]
}

/// Applies lifecycle decisions to the catalog, the image store and directory targets. Each state
/// change is one catalog transaction that first checks the build is still in the state the plan saw.
/// A deletion marks the build DEPRECATED first (no distribution picks it up meanwhile), removes its
/// files, then marks it DELETED; killed half-way, the next run finds it DEPRECATED and finishes.
public struct LifecycleApplier: Sendable {
    public let catalog: Catalog

    public init(catalog: Catalog) {
        self.catalog = catalog
    }

    /// Why deletion leaves the layer cache alone: its entries are keyed by recipe and component
    /// chain, shared by every build of that chain; `hallmark cache prune` retires them by use.
    public static let layerCacheNote = "layer cache left alone: entries are shared by key across builds (hallmark cache prune)"
    public static let reportsNote = "reports directory kept: it is the build's evidence"

    /// The references other live builds name as their parent: the catalog's `parent`, and a
    /// Hallmark image parent recorded in a build's image.json.
    public func parents() async throws -> Set<String> {
        var parents: Set<String> = []
        for build in try await catalog.builds() where build.state != .deleted {
            if let parent = build.parent { parents.insert(parent) }
            if let record = (try? ImageArtifacts.load(directory: build.directory))?.parent, record.kind == "image" {
                // image.json names it `name version/build`; the catalog `name@version/build`.
                parents.insert(record.reference.replacingOccurrences(of: " ", with: "@"))
            }
        }
        return parents
    }

    public func plan(image: String, rules: LifecycleRules, now: Date = Date()) async throws -> [LifecycleDecision] {
        LifecyclePlan.decide(try await catalog.builds(image: image), rules: rules, parents: try await parents(), now: now)
    }

    public func apply(_ decisions: [LifecycleDecision], dryRun: Bool) async throws -> [LifecycleResult] {
        let builds = Dictionary(try await catalog.builds().map { ($0.reference, $0) }, uniquingKeysWith: { a, _ in a })
        var results: [LifecycleResult] = []
        for decision in decisions {
            var result = LifecycleResult(decision: decision, state: decision.state, removed: [], left: [])
            guard !dryRun, decision.action != .keep, let build = builds[decision.build] else {
                results.append(result)
                continue
            }
            let note = "lifecycle: " + decision.reasons.joined(separator: "; ")
            // A DEPRECATED build is never shipped or revived, so only an AVAILABLE one needs the check-and-set first.
            var deprecated = build
            let moved = build.state != decision.state
            if !moved, build.state == .available {
                deprecated = try await catalog.transition(build, from: [.available], to: .deprecated, note: note) ?? build
            }
            guard !moved, deprecated.state == .deprecated else {
                result.left.append(.init(path: build.directory, reason: "skipped: another process changed its state meanwhile"))
                results.append(result)
                continue
            }
            result.state = .deprecated
            if decision.action == .delete {
                try await delete(deprecated, into: &result)
                if try await catalog.transition(deprecated, from: [.deprecated], to: .deleted, note: note) != nil {
                    result.state = .deleted
                }
            }
            results.append(result)
        }
        return results
    }

    /// Removes the build's copies in directory targets (only files with the digest shipped), then its
    /// directory in the image store. What stays is listed with why.
    func delete(_ build: CatalogBuild, into result: inout LifecycleResult) async throws {
        let history = try await catalog.history(of: build)
        let artifacts = try? ImageArtifacts.load(directory: build.directory)
        var shipped: [String: Set<String>] = [:]
        for (role, file) in artifacts?.files ?? [:] {
            if let recorded = artifacts?.fileDigests?[file] {
                shipped[role, default: []].insert(recorded)
            } else if let path = artifacts?.path(role), let digest = try? await Digest.sha256(fileAt: path) {
                shipped[role, default: []].insert(digest)
            }
        }
        for run in history.testRuns {
            for (name, digest) in [(ReleaseGate.reportName, run.reportDigest), (ReleaseGate.envelopeName, run.envelopeDigest)] {
                guard let digest else { continue }
                shipped[name, default: []].insert(digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest)
            }
        }
        let subdirectory = "\(build.image)/\(build.version)-\(build.number)"
        var seen: Set<String> = []
        for distribution in history.distributions where distribution.state == "DONE" && seen.insert(distribution.target).inserted {
            guard distribution.target.hasPrefix("directory:") else {
                result.left.append(
                    .init(path: distribution.target, reason: "only directory targets are withdrawn; remove the build there yourself"))
                continue
            }
            let target = DirectoryTarget(root: String(distribution.target.dropFirst("directory:".count)))
            let withdrawal = await target.withdraw(subdirectory: subdirectory, shipped: shipped)
            result.removed += withdrawal.removed
            result.left += withdrawal.left
        }
        try removeFromStore(build, artifacts: artifacts, into: &result)
        result.left.append(.init(path: catalog.store.home.root + "/cache/layers", reason: Self.layerCacheNote))
        if let reports = history.testRuns.last?.reportDirectory { result.left.append(.init(path: reports, reason: Self.reportsNote)) }
    }

    /// The store directory goes only if it is where the store keeps this very build: a catalog row
    /// pointing elsewhere never makes Hallmark delete a directory it did not make. It is renamed
    /// aside first, so the store never shows a half-removed build.
    func removeFromStore(_ build: CatalogBuild, artifacts: ImageArtifacts?, into result: inout LifecycleResult) throws {
        let expected = catalog.store.directory(name: build.image, version: build.version, build: build.number)
        guard FileManager.default.fileExists(atPath: build.directory) else { return }
        guard build.directory == expected, let artifacts, artifacts.name == build.image, artifacts.version == build.version,
            artifacts.build == build.number
        else {
            result.left.append(.init(path: build.directory, reason: "not this build's directory in the image store (\(expected))"))
            return
        }
        let parent = (expected as NSString).deletingLastPathComponent
        let aside = parent + "/.deleting-\(build.version)-\(build.number)"
        try? FileManager.default.removeItem(atPath: aside)
        guard rename(expected, aside) == 0 else {
            result.left.append(.init(path: expected, reason: "cannot move it aside: \(String(cString: strerror(errno)))"))
            return
        }
        do {
            try FileManager.default.removeItem(atPath: aside)
            result.removed.append(expected)
        } catch {
            result.left.append(.init(path: aside, reason: "cannot remove it: \(HallmarkError.describe(error))"))
        }
    }
}
