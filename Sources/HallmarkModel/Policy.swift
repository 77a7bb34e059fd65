import Foundation
import HallmarkSupport

public enum Severity: String, Sendable, CaseIterable, Comparable, Codable {
    case info, low, medium, high, critical

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A set of controls that must hold for a booted image.
public struct Policy: Sendable {
    public var id: String
    public var title: String
    public var version: String?
    public var controls: [Control]
    public var path: String
    public var digest: String
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

    public init(id: String, title: String, severity: Severity, rationale: String?, remediation: String?,
                references: [String: [String]], check: Check, location: SourceLocation) {
        self.id = id
        self.title = title
        self.severity = severity
        self.rationale = rationale
        self.remediation = remediation
        self.references = references
        self.check = check
        self.location = location
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
    case bootHealth
    case reboot
    case command(CommandCheck)

    public static let kinds = ["file", "package", "service", "sysctl", "sshd", "accounts", "find", "boot_health", "reboot", "command"]
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

    public var needsContent: Bool { !contains.isEmpty || !notContains.isEmpty }
}

public struct PackageCheck: Sendable {
    public var name: String
    public var installed: Bool
}

public struct ServiceCheck: Sendable {
    public var name: String
    public var enabled: Bool?
    public var active: Bool?
}

public struct SysctlCheck: Sendable {
    public var key: String
    public var value: Matcher
}

public struct SshdCheck: Sendable {
    /// Lowercase, as `sshd -T` prints it.
    public var setting: String
    public var value: Matcher
}

public struct AccountsCheck: Sendable {
    public var noEmptyPasswords: Bool
    /// The only accounts allowed to have uid 0.
    public var uidZero: [String]?
}

public struct FindCheck: Sendable {
    public var paths: [String]
    public var worldWritable: Bool
}

public struct CommandCheck: Sendable {
    public var run: String
    public var exitCode: Int32?
    public var stdout: Matcher?

    public init(run: String, exitCode: Int32?, stdout: Matcher?) {
        self.run = run
        self.exitCode = exitCode
        self.stdout = stdout
    }
}

/// How an observed value is compared with the expected one.
public enum Matcher: Sendable, Equatable, CustomStringConvertible {
    case equals(String)
    case not(String)
    case matches(String)
    case oneOf([String])
    case compare(Comparison, Double)

    public enum Comparison: String, Sendable { case lt, le, gt, ge }

    public var description: String {
        switch self {
        case .equals(let value): return "equals '\(value)'"
        case .not(let value): return "is not '\(value)'"
        case .matches(let pattern): return "matches /\(pattern)/"
        case .oneOf(let values): return "is one of \(values.map { "'\($0)'" }.joined(separator: ", "))"
        case .compare(let comparison, let number): return "\(comparison.rawValue) \(number)"
        }
    }
}

extension Policy {
    public static func load(path: String) throws -> Policy {
        let input = try YAMLInput.load(path: path, context: "policy")
        let root = try input.mapping(allowed: ["id", "title", "version", "controls"])
        let controlsInput = try root.required("controls")
        let controls = try controlsInput.sequence().map(parseControl)
        var ids = Set<String>()
        for (index, control) in controls.enumerated() where !ids.insert(control.id).inserted {
            throw try controlsInput.sequence()[index].error("duplicate control id '\(control.id)'")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return Policy(
            id: try root.required("id").string(),
            title: try root.required("title").string(),
            version: try root["version"]?.string(),
            controls: controls,
            path: path,
            digest: Digest.sha256(data))
    }

    private static func parseControl(_ item: YAMLInput) throws -> Control {
        let fields = try item.mapping(allowed: ["id", "title", "severity", "rationale", "remediation", "references", "check"])
        let severityInput = try fields.required("severity")
        guard let severity = Severity(rawValue: try severityInput.string()) else {
            throw severityInput.error("severity must be one of: \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var references: [String: [String]] = [:]
        for (key, value) in try fields["references"]?.freeMapping() ?? [] {
            references[key] = try value.oneOrMoreStrings()
        }
        return Control(
            id: try fields.required("id").string(),
            title: try fields.required("title").string(),
            severity: severity,
            rationale: try fields["rationale"]?.string(),
            remediation: try fields["remediation"]?.string(),
            references: references,
            check: try parseCheck(try fields.required("check")),
            location: item.location)
    }

    private static func parseCheck(_ input: YAMLInput) throws -> Check {
        let wrapper = try input.mapping(allowed: Check.kinds)
        guard wrapper.keys.count == 1, let kind = wrapper.keys.first, let body = wrapper[kind] else {
            throw input.error("check must name exactly one resource: \(Check.kinds.joined(separator: ", "))")
        }
        switch kind {
        case "file":
            let fields = try body.mapping(allowed: ["path", "exists", "owner", "group", "mode", "contains", "not_contains", "sha256"])
            var ceiling: UInt16?
            if let modeInput = fields["mode"] {
                guard let mode = UInt16(try modeInput.string(), radix: 8), mode <= 0o7777 else {
                    throw modeInput.error("mode must be an octal permission such as \"0640\" (quote it), got '\(try modeInput.string())'")
                }
                ceiling = mode
            }
            let contains = try fields["contains"]?.oneOrMoreStrings() ?? []
            let notContains = try fields["not_contains"]?.oneOrMoreStrings() ?? []
            for pattern in contains + notContains { try validateRegex(pattern, at: body) }
            return .file(FileCheck(
                path: try absoluteGuestPath(try fields.required("path")),
                exists: try fields["exists"]?.bool() ?? true,
                owner: try fields["owner"]?.string(), group: try fields["group"]?.string(), modeCeiling: ceiling,
                contains: contains, notContains: notContains, sha256: try fields["sha256"]?.string()))
        case "package":
            let fields = try body.mapping(allowed: ["name", "installed"])
            return .package(PackageCheck(name: try fields.required("name").string(), installed: try fields["installed"]?.bool() ?? true))
        case "service":
            let fields = try body.mapping(allowed: ["name", "enabled", "active"])
            guard fields["enabled"] != nil || fields["active"] != nil else { throw body.error("service check needs 'enabled' or 'active'") }
            return .service(ServiceCheck(name: try fields.required("name").string(), enabled: try fields["enabled"]?.bool(), active: try fields["active"]?.bool()))
        case "sysctl":
            let fields = try body.mapping(allowed: ["key", "value"])
            return .sysctl(SysctlCheck(key: try fields.required("key").string(), value: try parseMatcher(try fields.required("value"))))
        case "sshd":
            let fields = try body.mapping(allowed: ["setting", "value"])
            return .sshd(SshdCheck(setting: try fields.required("setting").string().lowercased(), value: try parseMatcher(try fields.required("value"))))
        case "accounts":
            let fields = try body.mapping(allowed: ["no_empty_passwords", "uid_zero"])
            return .accounts(AccountsCheck(noEmptyPasswords: try fields["no_empty_passwords"]?.bool() ?? false, uidZero: try fields["uid_zero"]?.strings()))
        case "find":
            let fields = try body.mapping(allowed: ["paths", "world_writable"])
            let paths = try fields.required("paths").sequence().map(absoluteGuestPath)
            guard try fields["world_writable"]?.bool() == false else {
                throw body.error("find supports 'world_writable: false' (no world-writable files under the paths)")
            }
            return .find(FindCheck(paths: paths, worldWritable: false))
        case "boot_health":
            _ = try body.isNull ? nil : body.mapping(allowed: [])
            return .bootHealth
        case "reboot":
            _ = try body.isNull ? nil : body.mapping(allowed: [])
            return .reboot
        default:
            let fields = try body.mapping(allowed: ["run", "exit_code", "stdout"])
            return .command(CommandCheck(
                run: try fields.required("run").string(),
                exitCode: try fields["exit_code"].map { Int32(try $0.int()) },
                stdout: try fields["stdout"].map(parseMatcher)))
        }
    }

    /// A scalar means "equals"; a one-key mapping names the matcher.
    static func parseMatcher(_ input: YAMLInput) throws -> Matcher {
        if case .scalar = input.node { return .equals(try input.string()) }
        let fields = try input.mapping(allowed: ["equals", "not", "matches", "one_of", "lt", "le", "gt", "ge"])
        guard fields.keys.count == 1, let key = fields.keys.first, let value = fields[key] else {
            throw input.error("a matcher names exactly one of: equals, not, matches, one_of, lt, le, gt, ge")
        }
        switch key {
        case "equals": return .equals(try value.string())
        case "not": return .not(try value.string())
        case "matches":
            let pattern = try value.string()
            try validateRegex(pattern, at: value)
            return .matches(pattern)
        case "one_of": return .oneOf(try value.strings())
        default:
            guard let number = Double(try value.string()) else { throw value.error("\(key) needs a number") }
            return .compare(Matcher.Comparison(rawValue: key)!, number)
        }
    }

    private static func validateRegex(_ pattern: String, at input: YAMLInput) throws {
        do { _ = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) } catch {
            throw input.error("invalid regular expression /\(pattern)/")
        }
    }

    private static func absoluteGuestPath(_ input: YAMLInput) throws -> String {
        let path = try input.string()
        guard path.hasPrefix("/") else { throw input.error("path must be absolute inside the image, got '\(path)'") }
        return path
    }
}
