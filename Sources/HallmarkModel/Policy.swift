import Foundation
import HallmarkSupport

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

    public init(id: String, title: String, version: String?, controls: [Control], path: String, digest: String,
                description: String? = nil, variables: [String: String] = [:], declaredVariables: Set<String> = [],
                includedFiles: [PolicySource] = [], tests: [PolicyTestCase] = []) {
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

    public init(id: String, title: String, severity: Severity, rationale: String?, remediation: String?,
                references: [String: [String]], check: Check, location: SourceLocation,
                tags: [String] = [], onlyIf: Check? = nil) {
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

/// The typed resources a control can check.
public enum Check: Sendable {
    case file(FileCheck)
    case package(PackageCheck)
    case service(ServiceCheck)
    case sysctl(SysctlCheck)
    case sshd(SshdCheck)
    case accounts(AccountsCheck)
    case find(FindCheck)
    case kernelModule(KernelModuleCheck)
    case mount(MountCheck)
    case port(PortCheck)
    case user(UserCheck)
    case group(GroupCheck)
    case bootHealth
    case reboot
    case command(CommandCheck)

    public static let kinds = [
        "file", "package", "service", "sysctl", "sshd", "accounts", "find", "kernel_module", "mount", "port", "user", "group",
        "boot_health", "reboot", "command",
    ]
}

public struct FileCheck: Sendable {
    public var path: String
    public var exists: Bool
    public var owner: String?
    public var group: String?
    /// The most permissive mode allowed: `0640` passes 0600 and 0640, fails 0644.
    public var modeCeiling: UInt16?
    public var contains: [String]
    public var notContains: [String]
    public var sha256: String?

    public init(path: String, exists: Bool = true, owner: String? = nil, group: String? = nil, modeCeiling: UInt16? = nil,
                contains: [String] = [], notContains: [String] = [], sha256: String? = nil) {
        self.path = path
        self.exists = exists
        self.owner = owner
        self.group = group
        self.modeCeiling = modeCeiling
        self.contains = contains
        self.notContains = notContains
        self.sha256 = sha256
    }

    public var needsContent: Bool { !contains.isEmpty || !notContains.isEmpty }
}

public struct PackageCheck: Sendable {
    public var name: String
    public var installed: Bool
    /// When set, the installed version must satisfy it (Debian version ordering).
    public var version: VersionConstraint?

    public init(name: String, installed: Bool = true, version: VersionConstraint? = nil) {
        self.name = name
        self.installed = installed
        self.version = version
    }
}

public struct ServiceCheck: Sendable {
    public var name: String
    public var enabled: Bool?
    public var active: Bool?

    public init(name: String, enabled: Bool? = nil, active: Bool? = nil) {
        self.name = name
        self.enabled = enabled
        self.active = active
    }
}

public struct SysctlCheck: Sendable {
    public var key: String
    public var value: Matcher
    /// Also require the value in /etc/sysctl.conf, /etc/sysctl.d, /run/sysctl.d, /usr/lib/sysctl.d (last one wins).
    public var persisted: Bool
    /// Check the running kernel's value (false: only the persisted configuration).
    public var live: Bool

    public init(key: String, value: Matcher, persisted: Bool = false, live: Bool = true) {
        self.key = key
        self.value = value
        self.persisted = persisted
        self.live = live
    }
}

public struct SshdCheck: Sendable {
    /// Lowercase, as `sshd -T` prints it.
    public var setting: String
    public var value: Matcher

    public init(setting: String, value: Matcher) {
        self.setting = setting
        self.value = value
    }
}

public struct AccountsCheck: Sendable {
    public var noEmptyPasswords: Bool
    /// The only accounts allowed to have uid 0.
    public var uidZero: [String]?
    /// The only accounts allowed to have gid 0 as their primary group.
    public var gidZero: [String]?
    public var uniqueUIDs: Bool
    public var uniqueGIDs: Bool
    public var uniqueUserNames: Bool
    public var uniqueGroupNames: Bool
    /// Every /etc/passwd entry has `x` as its password (the hash is in /etc/shadow).
    public var shadowedPasswords: Bool
    /// Every primary gid in /etc/passwd exists in /etc/group.
    public var groupsExist: Bool

    public init(noEmptyPasswords: Bool = false, uidZero: [String]? = nil, gidZero: [String]? = nil,
                uniqueUIDs: Bool = false, uniqueGIDs: Bool = false, uniqueUserNames: Bool = false, uniqueGroupNames: Bool = false,
                shadowedPasswords: Bool = false, groupsExist: Bool = false) {
        self.noEmptyPasswords = noEmptyPasswords
        self.uidZero = uidZero
        self.gidZero = gidZero
        self.uniqueUIDs = uniqueUIDs
        self.uniqueGIDs = uniqueGIDs
        self.uniqueUserNames = uniqueUserNames
        self.uniqueGroupNames = uniqueGroupNames
        self.shadowedPasswords = shadowedPasswords
        self.groupsExist = groupsExist
    }

    /// Whether evaluation reads /etc/passwd and /etc/group.
    public var readsPasswd: Bool { uidZero != nil || gidZero != nil || uniqueUIDs || uniqueUserNames || shadowedPasswords || groupsExist }
    public var readsGroup: Bool { uniqueGIDs || uniqueGroupNames || groupsExist }
}

public struct FindCheck: Sendable {
    /// Searched with `-xdev`: each path's own filesystem only.
    public var paths: [String]
    /// `false`: no world-writable regular file. nil: not checked.
    public var worldWritable: Bool?
    /// `false`: no file without a known user or group. nil: not checked.
    public var unowned: Bool?
    /// Every SUID/SGID file must be in this list. nil: not checked.
    public var suidAllowed: [String]?

    public init(paths: [String], worldWritable: Bool? = nil, unowned: Bool? = nil, suidAllowed: [String]? = nil) {
        self.paths = paths
        self.worldWritable = worldWritable
        self.unowned = unowned
        self.suidAllowed = suidAllowed
    }
}

public struct KernelModuleCheck: Sendable {
    public var name: String
    /// `false`: `modprobe -n -v` must show it cannot be loaded (install /bin/false, /bin/true, or no module).
    public var loadable: Bool?
    /// `false`: not in /proc/modules now. Implied by `loadable: false`.
    public var loaded: Bool?

    public init(name: String, loadable: Bool? = nil, loaded: Bool? = nil) {
        self.name = name
        self.loadable = loadable
        self.loaded = loaded
    }
}

public struct MountCheck: Sendable {
    /// The mount point; it must be a separate mount.
    public var path: String
    /// Options that must all be present (`nodev`, `nosuid`, `noexec`…).
    public var options: [String]

    public init(path: String, options: [String] = []) {
        self.path = path
        self.options = options
    }
}

public struct PortCheck: Sendable {
    public enum TransportProtocol: String, Sendable, CaseIterable { case tcp, udp }
    public var port: Int
    public var `protocol`: TransportProtocol
    public var listening: Bool

    public init(port: Int, protocol: TransportProtocol = .tcp, listening: Bool) {
        self.port = port
        self.protocol = `protocol`
        self.listening = listening
    }
}

public struct UserCheck: Sendable {
    public var name: String
    public var exists: Bool
    public var uid: Matcher?
    public var gid: Matcher?
    public var shell: Matcher?
    public var home: Matcher?

    public init(name: String, exists: Bool = true, uid: Matcher? = nil, gid: Matcher? = nil, shell: Matcher? = nil, home: Matcher? = nil) {
        self.name = name
        self.exists = exists
        self.uid = uid
        self.gid = gid
        self.shell = shell
        self.home = home
    }
}

public struct GroupCheck: Sendable {
    public var name: String
    public var exists: Bool
    public var gid: Matcher?
    /// Matched against the member list as written in /etc/group (comma-separated; "" for none).
    public var members: Matcher?

    public init(name: String, exists: Bool = true, gid: Matcher? = nil, members: Matcher? = nil) {
        self.name = name
        self.exists = exists
        self.gid = gid
        self.members = members
    }
}

public struct CommandCheck: Sendable {
    public var run: String
    public var exitCode: Int32?
    public var stdout: Matcher?
    public var stderr: Matcher?
    /// Observes the running system: not run against an unpacked root filesystem.
    public var runtime: Bool

    public init(run: String, exitCode: Int32?, stdout: Matcher?, stderr: Matcher? = nil, runtime: Bool = false) {
        self.run = run
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.runtime = runtime
    }
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
        /// One of `statuses`.
        public var status: String
        public var location: SourceLocation
    }

    /// The result states an expectation may name (XCCDF plus waived).
    public static let statuses = ["pass", "fail", "error", "notapplicable", "notchecked", "informational", "waived"]

    public var name: String
    public var facts: [String: ProbeFact]
    public var reboot: RebootFact?
    public var expectations: [Expectation]
    public var location: SourceLocation
}

extension Policy {
    /// Loads a policy with its includes, using each variable's default.
    public static func load(path: String) throws -> Policy {
        try load(path: path, variables: [:])
    }

    /// Loads a policy with its includes; `variables` override the defaults declared in `variables:`
    /// (names no file declares are ignored here: see `undeclared(_:in:)`). Throws the first problem.
    public static func load(path: String, variables: [String: String]) throws -> Policy {
        let (policy, problems) = lint(path: path, variables: variables)
        if let first = problems.first { throw first }
        guard let policy else { throw HallmarkError.invalidInput("cannot load policy", at: SourceLocation(file: path)) }
        return policy
    }

    /// Loads a policy and reports every problem found (unknown keys, duplicate ids, bad regexes,
    /// include cycles, undefined variables…), each at its file:line:column. The policy is nil when
    /// the file could not be read at all.
    public static func lint(path: String, variables: [String: String] = [:]) -> (Policy?, [HallmarkError]) {
        var loader = PolicyLoader(overrides: variables)
        let absolute = absolutePath(path)
        do {
            let file = try loader.loadFile(path: URL(fileURLWithPath: absolute).standardizedFileURL.path,
                                           inherited: variables, stack: [], includedAt: nil)
            loader.checkDuplicateIDs(file.controls)
            if file.controls.isEmpty {
                loader.report(HallmarkError.invalidInput("policy has no controls (neither its own nor included)", at: SourceLocation(file: path, line: 1, column: 1)))
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
    public static func loadAll(paths: [String], variables: [String: String] = [:]) throws -> [Policy] {
        let policies = try paths.map { try load(path: $0, variables: variables) }
        let unknown = undeclared(variables, in: policies)
        if !unknown.isEmpty {
            throw HallmarkError.invalidInput(
                "variable\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) not declared by any policy (declared: \(policies.flatMap(\.declaredVariables).sorted().joined(separator: ", ")))")
        }
        return policies
    }

    /// Override names that none of the policies declare, sorted.
    public static func undeclared(_ variables: [String: String], in policies: [Policy]) -> [String] {
        let declared = Set(policies.flatMap(\.declaredVariables))
        return variables.keys.filter { !declared.contains($0) }.sorted()
    }

    /// A scalar means "equals"; a one-key mapping names the matcher.
    static func parseMatcher(_ input: YAMLInput) throws -> Matcher {
        try PolicyLoader.parseMatcher(input)
    }
}
