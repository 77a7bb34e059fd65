import HallmarkModel
import HallmarkSupport

/// A compliance resource: the fields of its check and how a policy writes them, the probes that
/// observe it, the parsers of their output and the rule. Each lives in one file of `Resources/`
/// and has one case in `ResourceKind`.
public protocol Resource: ResourceCheck {
    static var kind: ResourceKind { get }
    /// Fields whose text is shell (`command`'s `run`): variables are quoted for where they land.
    static var shellFields: Set<String> { get }
    /// Reads the check's body in a policy (what follows `kind:`), with errors at file:line:column.
    init(yaml body: YAMLInput) throws
    /// What the rule reads, static and runtime.
    var probes: [Probe] { get }
    /// A rule that decides on part of its probes (a root filesystem has no live sysctl values)
    /// says so; otherwise a probe not collected makes the check `notchecked` before the rule runs.
    var decidesWithMissingFacts: Bool { get }
    func evaluate(_ facts: Facts) -> Outcome
    /// Where the facts the rule read were observed.
    func sources(in facts: Facts) -> Set<FactSource>
}

extension Resource {
    public static var name: String { kind.rawValue }
    public static var shellFields: Set<String> { [] }
    public var decidesWithMissingFacts: Bool { false }

    public func sources(in facts: Facts) -> Set<FactSource> { sourcesOfProbes(in: facts) }

    public var factKeys: [String] { probes.map(\.key.description) }

    /// Where the probes that were collected were observed.
    public func sourcesOfProbes(in facts: Facts) -> Set<FactSource> {
        Set(probes.filter { facts.probes[$0.key] != nil }.map { facts.source(of: $0.key) })
    }
}

extension Check {
    /// The resource behind the check; nil only for a check no resource of Compliance made.
    var rule: (any Resource)? { resource as? any Resource }

    /// The probes the check reads.
    var probes: [Probe] { rule?.probes ?? [] }
}

/// The policy language: every resource, read through the policy loader.
extension CheckLanguage {
    public static let resources = CheckLanguage(
        entries: ResourceKind.allCases.map { kind in
            let type = kind.resource
            return Entry(name: kind.rawValue, shellFields: type.shellFields) { body in try type.init(yaml: body) }
        })
}

/// Policies loaded with every resource of the language.
extension Policy {
    public static func load(path: String, variables: [String: String] = [:]) throws -> Policy {
        try load(path: path, variables: variables, checks: .resources)
    }

    public static func lint(path: String, variables: [String: String] = [:]) -> (Policy?, [HallmarkError]) {
        lint(path: path, variables: variables, checks: .resources)
    }

    public static func loadAll(paths: [String], variables: [String: String] = [:]) throws -> [Policy] {
        try loadAll(paths: paths, variables: variables, checks: .resources)
    }
}
