import Catalog
import Foundation
import HallmarkModel

/// The rules a lifecycle applies to one image's builds: a pipeline's `lifecycle:` with the command
/// line's overrides.
public struct LifecycleRules: Sendable, Equatable, Codable {
    /// Keep this many newest live (AVAILABLE or DEPRECATED) builds; older ones are retired.
    public var keep: Int?
    /// Retire builds older than this many days.
    public var deprecateAfterDays: Int?
    /// Delete retired builds older than this many days; nil: never delete.
    public var deleteAfterDays: Int?
    /// Never fewer AVAILABLE builds than this after the rules have run.
    public var retainAtLeast: Int

    public init(keep: Int?, deprecateAfterDays: Int?, deleteAfterDays: Int?, retainAtLeast: Int) {
        (self.keep, self.deprecateAfterDays, self.deleteAfterDays, self.retainAtLeast) =
            (keep, deprecateAfterDays, deleteAfterDays, max(1, retainAtLeast))
    }

    /// Whether the rules can retire anything at all.
    public var retiresAnything: Bool { keep != nil || deprecateAfterDays != nil || deleteAfterDays != nil }
}

/// What the lifecycle does with one build, and why.
public struct LifecycleDecision: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case keep, deprecate, delete
    }

    public var build: String
    public var state: BuildState
    public var action: Action
    /// The rules that retire it, or what protects it.
    public var reasons: [String]
}

/// Decides, without touching anything, which builds of an image to deprecate and delete. Only live
/// builds (AVAILABLE, DEPRECATED) are considered: active builds belong to a running process, FAILED
/// and DELETED builds are left as they are.
public enum LifecyclePlan {
    static let secondsPerDay: Double = 86_400

    /// `builds` are one image's; `parents` the references (`name@version/build`) that other builds
    /// still in the catalog name as their parent. Decisions come newest build first.
    public static func decide(
        _ builds: [CatalogBuild], rules: LifecycleRules, parents: Set<String>, now: Date = Date()
    ) -> [LifecycleDecision] {
        let live = builds.filter { $0.state == .available || $0.state == .deprecated }.sorted(by: newerFirst)
        let newestAvailable = live.first { $0.state == .available }?.reference
        var decisions = live.enumerated().map { index, build -> LifecycleDecision in
            let ageDays = now.timeIntervalSince(build.createdAt) / secondsPerDay
            let age = "\(Int(ageDays.rounded(.down)))d old"
            var retiring: [String] = []
            if let keep = rules.keep, index >= keep { retiring.append("beyond keep \(keep) (newest \(index + 1))") }
            if let days = rules.deprecateAfterDays, ageDays > Double(days) { retiring.append("\(age), deprecate after \(days)d") }
            if build.state == .deprecated, retiring.isEmpty { retiring.append("DEPRECATED") }
            if build.reference == newestAvailable {
                return LifecycleDecision(build: build.reference, state: build.state, action: .keep, reasons: ["the newest AVAILABLE build"])
            }
            if parents.contains(build.reference) {
                return LifecycleDecision(
                    build: build.reference, state: build.state, action: .keep, reasons: ["another build uses it as its parent"])
            }
            guard !retiring.isEmpty, build.state == .available || rules.deleteAfterDays != nil else {
                return LifecycleDecision(
                    build: build.reference, state: build.state, action: .keep,
                    reasons: build.state == .deprecated ? ["DEPRECATED; no delete_after"] : ["within the rules"])
            }
            if let days = rules.deleteAfterDays, ageDays > Double(days) {
                return LifecycleDecision(
                    build: build.reference, state: build.state, action: .delete, reasons: retiring + ["\(age), delete after \(days)d"])
            }
            guard build.state == .available else {
                return LifecycleDecision(
                    build: build.reference, state: build.state, action: .keep,
                    reasons: ["DEPRECATED; \(age), delete after \(rules.deleteAfterDays ?? 0)d"])
            }
            return LifecycleDecision(build: build.reference, state: build.state, action: .deprecate, reasons: retiring)
        }
        // retain-at-least: give back the newest AVAILABLE builds the rules would retire until enough remain.
        var remaining = decisions.filter { $0.state == .available && $0.action == .keep }.count
        for index in decisions.indices where remaining < rules.retainAtLeast {
            guard decisions[index].state == .available, decisions[index].action != .keep else { continue }
            decisions[index].action = .keep
            decisions[index].reasons = [
                "retain at least \(rules.retainAtLeast) AVAILABLE (otherwise: \(decisions[index].reasons.joined(separator: "; ")))"
            ]
            remaining += 1
        }
        return decisions
    }

    /// By version, then build number, newest first.
    static func newerFirst(_ a: CatalogBuild, _ b: CatalogBuild) -> Bool {
        let (va, vb) = (SemanticVersion(a.version), SemanticVersion(b.version))
        let ka = [va?.major ?? 0, va?.minor ?? 0, va?.patch ?? 0, a.number]
        let kb = [vb?.major ?? 0, vb?.minor ?? 0, vb?.patch ?? 0, b.number]
        return kb.lexicographicallyPrecedes(ka)
    }
}

extension LifecycleRules {
    /// A pipeline's `lifecycle:`.
    public init(_ lifecycle: PipelineDefinition.Lifecycle) {
        self.init(
            keep: lifecycle.keep, deprecateAfterDays: lifecycle.deprecateAfterDays, deleteAfterDays: lifecycle.deleteAfterDays,
            retainAtLeast: lifecycle.retainAtLeast)
    }
}
