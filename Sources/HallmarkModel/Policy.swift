import Foundation
import HallmarkSupport

/// XCCDF result states plus waivers: what evaluation gives a control, and what a policy's test case expects.
public enum ResultStatus: String, Codable, Sendable, CaseIterable {
    case pass, fail, error, notapplicable, notchecked, informational, waived
}

public enum Severity: String, Sendable, CaseIterable, Comparable, Codable {
    case info, low, medium, high, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A file that went into a policy, for the report's input digests.
public struct PolicySource: Sendable, Equatable {
    public var path: String
    public var sha256: String

    public init(path: String, sha256: String) {
        self.path = path
        self.sha256 = sha256
    }
}

/// A set of controls that must hold for a booted image.
public struct Policy: Sendable {
    public var id: String
    public var title: String
    public var version: String?
    /// The file's own controls after the controls of the files it includes (in include order).
    public var controls: [Control]
    public var path: String
    /// sha256 of this file's bytes (included files are in `includedFiles`).
    public var digest: String
    public var description: String?
    /// The effective value of every variable this file declares (defaults, then overrides).
    public var variables: [String: String]
    /// Every variable declared by this file or a file it includes: the names an override may set.
    public var declaredVariables: Set<String>
    /// Files included directly or indirectly, in load order, with their digests.
    public var includedFiles: [PolicySource]
    /// The policy's own test cases (`tests:`), run by `hallmark policy test FILE`.
    public var tests: [PolicyTestCase]

    public init(
        id: String, title: String, version: String?, controls: [Control], path: String, digest: String,
        description: String? = nil, variables: [String: String] = [:], declaredVariables: Set<String> = [],
        includedFiles: [PolicySource] = [], tests: [PolicyTestCase] = []
    ) {
        self.id = id
        self.title = title
        self.version = version
        self.controls = controls
        self.path = path
        self.digest = digest
        self.description = description
        self.variables = variables
        self.declaredVariables = declaredVariables
        self.includedFiles = includedFiles
        self.tests = tests
    }

    /// This file and every file it includes, for the report's input digests.
    public var sources: [PolicySource] { [PolicySource(path: path, sha256: digest)] + includedFiles }

    /// The controls carrying any of the tags (all controls when `tags` is empty).
    public func controls(taggedWithAnyOf tags: [String]) -> [Control] {
        tags.isEmpty ? controls : controls.filter { !Set($0.tags).isDisjoint(with: tags) }
    }

    /// The policies with only the controls carrying any of `tags` and, when `ids` is not empty,
    /// having one of those ids. A tag or id that matches no control is a usage error: a typo must
    /// not shrink the gate to nothing and pass.
    public static func select(_ policies: [Policy], tags: [String], ids: [String]) throws -> [Policy] {
        let all = policies.flatMap(\.controls)
        let knownTags = Set(all.flatMap(\.tags))
        if let unknown = tags.first(where: { !knownTags.contains($0) }) {
            throw HallmarkError(
                .usage,
                "--tag '\(unknown)' selects no control; tags of these policies: \(knownTags.sorted().joined(separator: ", "))")
        }
        if let unknown = ids.first(where: { id in !all.contains { $0.id == id } }) {
            throw HallmarkError(
                .usage, "--control '\(unknown)' names no control of these policies; their ids are listed by `hallmark policy lint`")
        }
        let selected = policies.map { policy in
            var policy = policy
            policy.controls = policy.controls(taggedWithAnyOf: tags).filter { ids.isEmpty || ids.contains($0.id) }
            return policy
        }
        guard tags.isEmpty || ids.isEmpty || selected.contains(where: { !$0.controls.isEmpty }) else {
            throw HallmarkError(.usage, "no control has one of the --tag values and one of the --control ids")
        }
        return selected
    }
}

/// One requirement: metadata an auditor reads, and one check on a typed resource.
public struct Control: Sendable {
    public var id: String
    public var title: String
    public var severity: Severity
    public var rationale: String?
    public var remediation: String?
    /// e.g. `cis: [5.1.20]`, `nist: [AC-6]`.
    public var references: [String: [String]]
    public var check: Check
    public var location: SourceLocation
    /// Free labels for selecting controls (`tags: [ssh, network]`).
    public var tags: [String]
    /// A precondition: when it does not hold, the control is not applicable.
    public var onlyIf: Check?

    public init(
        id: String, title: String, severity: Severity, rationale: String?, remediation: String?,
        references: [String: [String]], check: Check, location: SourceLocation,
        tags: [String] = [], onlyIf: Check? = nil
    ) {
        self.id = id
        self.title = title
        self.severity = severity
        self.rationale = rationale
        self.remediation = remediation
        self.references = references
        self.check = check
        self.location = location
        self.tags = tags
        self.onlyIf = onlyIf
    }
}

/// The fields of one resource's check. Each resource (`Compliance/Resources`) defines its own type,
/// with its YAML reading, probes, parser and rule; the model only carries it.
public protocol ResourceCheck: Sendable {
    /// The resource's name in the policy language (`file`, `kernel_module`).
    static var name: String { get }
    /// The facts (probe keys, as facts.json and test cases spell them) the check reads.
    var factKeys: [String] { get }
}

/// One check on a typed resource: what a control's `check` or `only_if` names.
public struct Check: Sendable {
    public let resource: any ResourceCheck

    public init(_ resource: any ResourceCheck) {
        self.resource = resource
    }

    public var kind: String { type(of: resource).name }

    /// The check's fields, when it is a check of `type`.
    public func `as`<T: ResourceCheck>(_ type: T.Type) -> T? { resource as? T }
}

/// The resources a policy's checks may name and how each reads its check. The model does not know
/// them: Compliance defines the language (`CheckLanguage.resources`) and the loader dispatches through it.
public struct CheckLanguage: Sendable {
    public struct Entry: Sendable {
        public var name: String
        /// Fields whose text is shell (`command`'s `run`): a variable's value is quoted for the place it lands in.
        public var shellFields: Set<String>
        /// Reads the check's body (what follows `name:`).
        public var read: @Sendable (YAMLInput) throws -> any ResourceCheck

        public init(name: String, shellFields: Set<String> = [], read: @escaping @Sendable (YAMLInput) throws -> any ResourceCheck) {
            self.name = name
            self.shellFields = shellFields
            self.read = read
        }
    }

    /// In the order error messages list them.
    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }

    public var names: [String] { entries.map(\.name) }
}

/// How an observed value is compared with the expected one.
public enum Matcher: Sendable, Equatable, CustomStringConvertible {
    case equals(String)
    case not(String)
    case matches(String)
    case notMatches(String)
    case oneOf([String])
    case compare(Comparison, Double)

    public enum Comparison: String, Sendable { case lt, le, gt, ge }

    public static let keys = ["equals", "not", "matches", "not_matches", "one_of", "lt", "le", "gt", "ge"]

    public var description: String {
        switch self {
        case .equals(let value): return "equals '\(value)'"
        case .not(let value): return "is not '\(value)'"
        case .matches(let pattern): return "matches /\(pattern)/"
        case .notMatches(let pattern): return "does not match /\(pattern)/"
        case .oneOf(let values): return "is one of \(values.map { "'\($0)'" }.joined(separator: ", "))"
        case .compare(let comparison, let number):
            let bound = number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
            return "\(comparison.rawValue) \(bound)"
        }
    }
}

/// A test case a policy file carries: facts as the collector would report them, and the result
/// each named control must then have.
public struct PolicyTestCase: Sendable {
    public struct ProbeFact: Sendable, Equatable {
        public var exitCode: Int32
        public var stdout: String
        public var stderr: String

        public init(exitCode: Int32, stdout: String, stderr: String = "") {
            self.exitCode = exitCode
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    public struct RebootFact: Sendable, Equatable {
        public var bootIDBefore: String
        public var bootIDAfter: String?
        public var failure: String?
    }

    public struct Expectation: Sendable {
        public var controlID: String
        public var status: ResultStatus
        public var location: SourceLocation
    }

    public var name: String
    public var facts: [String: ProbeFact]
    public var reboot: RebootFact?
    public var expectations: [Expectation]
    public var location: SourceLocation
    /// Where each fact is written, for errors about it.
    public var factLocations: [String: SourceLocation] = [:]
}

extension Policy {
    /// Loads a policy with its includes; `variables` override the defaults declared in `variables:`
    /// (names no file declares are ignored here: see `undeclared(_:in:)`). Throws the first problem.
    public static func load(path: String, variables: [String: String] = [:], checks: CheckLanguage) throws -> Policy {
        let (policy, problems) = lint(path: path, variables: variables, checks: checks)
        if let first = problems.first { throw first }
        guard let policy else { throw HallmarkError.invalidInput("cannot load policy", at: SourceLocation(file: path)) }
        return policy
    }

    /// Loads a policy and reports every problem found (unknown keys, duplicate ids, bad regexes,
    /// include cycles, undefined variables…), each at its file:line:column. The policy is nil when
    /// the file could not be read at all.
    public static func lint(path: String, variables: [String: String] = [:], checks: CheckLanguage) -> (Policy?, [HallmarkError]) {
        var loader = PolicyLoader(overrides: variables, language: checks)
        let absolute = absolutePath(path)
        do {
            let file = try loader.loadFile(
                path: URL(fileURLWithPath: absolute).standardizedFileURL.path,
                inherited: variables, stack: [], includedAt: nil)
            loader.checkDuplicateIDs(file.controls)
            if file.controls.isEmpty {
                loader.report(
                    HallmarkError.invalidInput(
                        "policy has no controls (neither its own nor included)", at: SourceLocation(file: path, line: 1, column: 1)))
            }
            let policy = Policy(
                id: file.id, title: file.title, version: file.version, controls: file.controls, path: path, digest: file.digest,
                description: file.description, variables: file.variables, declaredVariables: file.declared,
                includedFiles: file.includedFiles, tests: file.tests)
            return (policy, loader.problems)
        } catch let error as HallmarkError {
            return (nil, loader.problems + [error])
        } catch {
            return (nil, loader.problems + [HallmarkError.invalidInput("\(error)", at: SourceLocation(file: path))])
        }
    }

    /// Loads several policies with the same overrides, rejecting an override that no policy declares.
    public static func loadAll(paths: [String], variables: [String: String] = [:], checks: CheckLanguage) throws -> [Policy] {
        let policies = try paths.map { try load(path: $0, variables: variables, checks: checks) }
        let unknown = undeclared(variables, in: policies)
        if !unknown.isEmpty {
            throw HallmarkError.invalidInput(
                "variable\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) not declared by any policy (declared: \(policies.flatMap(\.declaredVariables).sorted().joined(separator: ", ")))"
            )
        }
        return policies
    }

    /// Override names that none of the policies declare, sorted.
    public static func undeclared(_ variables: [String: String], in policies: [Policy]) -> [String] {
        let declared = Set(policies.flatMap(\.declaredVariables))
        return variables.keys.filter { !declared.contains($0) }.sorted()
    }
}
