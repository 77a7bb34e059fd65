import Foundation
import HallmarkModel
import HallmarkSupport

/// A setting of the password quality check as pam_pwquality applies it to a password change:
/// libpwquality reads `/etc/security/pwquality.conf.d/*.conf` in name order and then
/// `/etc/security/pwquality.conf` (later assignments win), the module's arguments in
/// `/etc/pam.d/common-password` override both, and a setting nobody assigns has libpwquality's
/// default. Without pam_pwquality in common-password no setting applies at all.
public struct PwqualityCheck: Resource {
    public var setting: String
    public var value: Matcher

    public init(setting: String, value: Matcher) {
        self.setting = setting
        self.value = value
    }

    public static let kind = ResourceKind.pwquality

    /// libpwquality 1.4.5's defaults (pwquality.conf(5)); flags are yes when present.
    static let defaults: [String: String] = [
        "difok": "1", "minlen": "8", "dcredit": "0", "ucredit": "0", "lcredit": "0", "ocredit": "0",
        "minclass": "0", "maxrepeat": "0", "maxsequence": "0", "maxclassrepeat": "0", "gecoscheck": "0",
        "dictcheck": "1", "usercheck": "1", "usersubstr": "0", "enforcing": "1", "retry": "1",
        "enforce_for_root": "no", "local_users_only": "no", "dictpath": "",
    ]
    static let flags: Set<String> = ["enforce_for_root", "local_users_only"]

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["setting", "value"])
        let setting = try fields.required("setting")
        let name = try setting.string()
        guard Self.defaults[name] != nil else {
            throw setting.error("setting must be one of \(Self.defaults.keys.sorted().joined(separator: ", ")), got '\(name)'")
        }
        self.init(setting: name, value: try fields.required("value").matcher())
    }

    public var probes: [Probe] { [Self.probe] }

    static let pamFile = "/etc/pam.d/common-password"
    static let probe = Probe(
        key: "pwquality",
        script: ConfigFiles.script(["/etc/security/pwquality.conf.d/*.conf", "/etc/security/pwquality.conf", pamFile]),
        execution: .subshell(cost: 1))

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read the password quality configuration (exit \(output.exitCode))", excerpt(output.stderr))
        }
        guard let config = ConfigFiles(output.stdout) else {
            return Outcome(.error, "unexpected pwquality probe output", excerpt(output.stdout))
        }
        var effective: String?
        var source = "the default"
        var module: String?
        let confFiles =
            config.files.filter { $0.path.hasPrefix("/etc/security/pwquality.conf.d/") }.sorted { $0.name < $1.name }
            + config.files.filter { $0.path == "/etc/security/pwquality.conf" }
        for file in confFiles {
            for (index, raw) in file.lines.enumerated() {
                let line = trimmed(raw.prefix { $0 != "#" }, \.isWhitespace)
                guard !line.isEmpty else { continue }
                if let equals = line.firstIndex(of: "=") {
                    guard trimmed(line[..<equals], \.isWhitespace) == setting else { continue }
                    effective = String(trimmed(line[line.index(after: equals)...], \.isWhitespace))
                } else {
                    guard line == setting, Self.flags.contains(setting) else { continue }
                    effective = "yes"
                }
                source = "\(file.path):\(index + 1)"
            }
        }
        for file in config.files where file.path == Self.pamFile {
            for (index, raw) in file.lines.enumerated() {
                let words = raw.prefix { $0 != "#" }.split(whereSeparator: isBlank)
                guard words.count >= 3, words[0] == "password", words.dropFirst().contains(where: { $0.hasSuffix("pam_pwquality.so") })
                else { continue }
                module = "\(file.path):\(index + 1)"
                let arguments = words.drop { !$0.hasSuffix("pam_pwquality.so") }.dropFirst()
                for argument in arguments {
                    if argument == setting, Self.flags.contains(setting) {
                        effective = "yes"
                    } else if argument.hasPrefix(setting + "=") {
                        effective = String(argument.dropFirst(setting.count + 1))
                    } else {
                        continue
                    }
                    source = "pam_pwquality argument in \(file.path):\(index + 1)"
                }
            }
        }
        guard let module else {
            return Outcome(.fail, "pam_pwquality is not in \(Self.pamFile): no password quality setting applies", "")
        }
        let value = effective ?? Self.defaults[setting] ?? ""
        let evidence = "\(setting)=\(value) (\(source)); pam_pwquality at \(module)"
        return match(self.value, value)
            ? Outcome(.pass, evidence, evidence)
            : Outcome(.fail, "\(setting) is '\(value)' (\(source)); expected a value that \(self.value)", evidence)
    }
}
