import Foundation
import HallmarkModel
import HallmarkSupport

/// A setting of a PAM module with its own configuration file, as the module applies it on each of
/// its lines: the module reads its file first and its arguments on that line override it, and a
/// setting nobody assigns has the module's compiled-in default. Every line of the module in the
/// stack it counts in must give a matching value, and each line the module needs must be there.
public struct PamModuleCheck: Resource {
    public var module: Module
    public var setting: String
    public var value: Matcher

    public init(module: Module, setting: String, value: Matcher) {
        self.module = module
        self.setting = setting
        self.value = value
    }

    public static let kind = ResourceKind.pamModule

    /// The modules this resource knows, with what Linux-PAM 1.5.2 (Debian 12) compiles in.
    public enum Module: String, CaseIterable, Sendable {
        case faillock = "pam_faillock"
        case pwhistory = "pam_pwhistory"

        /// Its configuration file; pam_pwhistory reads one only from Linux-PAM 1.5.3 on.
        var configFile: String? {
            switch self {
            case .faillock: "/etc/security/faillock.conf"
            case .pwhistory: nil
            }
        }

        /// pam_faillock(8) and pam_pwhistory(8) defaults; flags are no until present.
        var defaults: [String: String] {
            switch self {
            case .faillock:
                [
                    "deny": "3", "fail_interval": "900", "unlock_time": "600", "even_deny_root": "no", "root_unlock_time": "",
                    "admin_group": "", "audit": "no", "silent": "no", "no_log_info": "no", "local_users_only": "no", "nodelay": "no",
                    "dir": "/var/run/faillock",
                ]
            case .pwhistory:
                ["remember": "10", "retry": "1", "enforce_for_root": "no", "use_authtok": "no", "debug": "no", "authtok_type": ""]
            }
        }

        var flags: Set<String> {
            switch self {
            case .faillock: ["even_deny_root", "audit", "silent", "no_log_info", "local_users_only", "nodelay"]
            case .pwhistory: ["enforce_for_root", "use_authtok", "debug"]
            }
        }

        /// The file and PAM type whose lines apply the settings.
        var stack: (file: String, type: String) {
            switch self {
            case .faillock: ("/etc/pam.d/common-auth", "auth")
            case .pwhistory: ("/etc/pam.d/common-password", "password")
            }
        }

        /// Lines the module needs to work at all: file, type and an argument the line carries.
        /// pam_faillock counts a failure only with `preauth` before and `authfail` after pam_unix,
        /// and clears the count only from the account stack.
        var required: [(file: String, type: String, argument: String?)] {
            switch self {
            case .faillock:
                [
                    ("/etc/pam.d/common-auth", "auth", "preauth"), ("/etc/pam.d/common-auth", "auth", "authfail"),
                    ("/etc/pam.d/common-account", "account", nil),
                ]
            case .pwhistory: [("/etc/pam.d/common-password", "password", nil)]
            }
        }

        var files: [String] {
            (configFile.map { [$0] } ?? []) + Array(Set(required.map(\.file))).sorted()
        }
    }

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["module", "setting", "value"])
        let moduleField = try fields.required("module")
        let moduleName = try moduleField.string()
        guard let module = Module(rawValue: moduleName) else {
            let known = Module.allCases.map(\.rawValue).joined(separator: ", ")
            throw moduleField.error("module must be one of \(known), got '\(moduleName)'")
        }
        let settingField = try fields.required("setting")
        let name = try settingField.string()
        guard module.defaults[name] != nil else {
            let known = module.defaults.keys.sorted().joined(separator: ", ")
            throw settingField.error("setting of \(module.rawValue) must be one of \(known), got '\(name)'")
        }
        self.init(module: module, setting: name, value: try fields.required("value").matcher())
    }

    public var probes: [Probe] { [Self.probe(module)] }

    static func probe(_ module: Module) -> Probe {
        Probe(key: ProbeKey("pam-module", module.rawValue), script: ConfigFiles.script(module.files), execution: .subshell(cost: 1))
    }

    /// A line of the module in a PAM file: where it is and its arguments.
    struct ModuleLine {
        var place: String
        var type: Substring
        var arguments: [Substring]
    }

    static func lines(of module: Module, in file: ConfigFiles.File) -> [ModuleLine] {
        file.lines.enumerated().compactMap { index, raw in
            let words = raw.prefix { $0 != "#" }.split(whereSeparator: isBlank)
            guard words.count >= 3, let at = words.firstIndex(where: { $0.hasSuffix(module.rawValue + ".so") }) else { return nil }
            let type = words[0].hasPrefix("-") ? words[0].dropFirst() : words[0]
            return ModuleLine(place: "\(file.path):\(index + 1)", type: type, arguments: Array(words[(at + 1)...]))
        }
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let probe = Self.probe(module)
        let output = facts.output(probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read the \(module.rawValue) configuration (exit \(output.exitCode))", excerpt(output.stderr))
        }
        guard let config = ConfigFiles(output.stdout) else {
            return Outcome(.error, "unexpected \(module.rawValue) probe output", excerpt(output.stdout))
        }
        func lines(_ path: String, _ type: String) -> [ModuleLine] {
            config.files.filter { $0.path == path }.flatMap { Self.lines(of: module, in: $0) }.filter { $0.type == type }
        }
        for need in module.required {
            let found = lines(need.file, need.type)
            guard found.contains(where: { line in need.argument.map { line.arguments.contains(Substring($0)) } ?? true }) else {
                let what = [need.type, module.rawValue + ".so", need.argument].compactMap { $0 }.joined(separator: " ")
                return Outcome(.fail, "no '\(what)' line in \(need.file): \(module.rawValue) is not in effect", "")
            }
        }
        // The configuration file, read the way the module reads it: `key = value` or a bare flag.
        var fromFile: (value: String, source: String)?
        for file in config.files where file.path == module.configFile {
            for (index, raw) in file.lines.enumerated() {
                let line = trimmed(raw.prefix { $0 != "#" }, \.isWhitespace)
                if let equals = line.firstIndex(of: "=") {
                    guard trimmed(line[..<equals], \.isWhitespace) == setting else { continue }
                    fromFile = (String(trimmed(line[line.index(after: equals)...], \.isWhitespace)), "\(file.path):\(index + 1)")
                } else if line == setting, module.flags.contains(setting) {
                    fromFile = ("yes", "\(file.path):\(index + 1)")
                }
            }
        }
        var evidence: [String] = []
        for line in lines(module.stack.file, module.stack.type) {
            if let conf = line.arguments.first(where: { $0.hasPrefix("conf=") }), conf.dropFirst(5) != module.configFile ?? "" {
                return Outcome(.error, "\(line.place) reads \(conf.dropFirst(5)), which this check does not read", "")
            }
            var (value, source) = fromFile ?? (module.defaults[setting] ?? "", "the default")
            for argument in line.arguments {
                if argument == setting, module.flags.contains(setting) {
                    (value, source) = ("yes", "argument")
                } else if argument.hasPrefix(setting + "=") {
                    (value, source) = (String(argument.dropFirst(setting.count + 1)), "argument")
                }
            }
            let said = "\(setting)=\(value) (\(source)) at \(line.place)"
            guard match(self.value, value) else {
                return Outcome(
                    .fail, "\(module.rawValue) \(setting) is '\(value)' (\(source)) at \(line.place); expected a value that \(self.value)",
                    said)
            }
            evidence.append(said)
        }
        let joined = evidence.joined(separator: "; ")
        return Outcome(.pass, joined, joined)
    }
}
