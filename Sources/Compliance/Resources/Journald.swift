import Foundation
import HallmarkModel
import HallmarkSupport

/// A setting of systemd-journald's effective configuration, read as journald reads it:
/// `/etc/systemd/journald.conf`, then the `journald.conf.d/*.conf` drop-ins of /etc, /run,
/// /usr/local/lib and /usr/lib sorted by file name (a name in an earlier directory hides the same
/// name in a later one), the last assignment in `[Journal]` winning, and for a setting no file
/// assigns, the default compiled into Debian's systemd 252.
public struct JournaldCheck: Resource {
    public var setting: String
    public var value: Matcher
    /// The setting must be assigned in a file: a benchmark that asks for it to be written out is
    /// not satisfied by the compiled-in default, which a later package could change.
    public var explicit: Bool

    public init(setting: String, value: Matcher, explicit: Bool = false) {
        self.setting = setting
        self.value = value
        self.explicit = explicit
    }

    public static let kind = ResourceKind.journald

    /// Debian's defaults where they are not empty. Debian patches `ForwardToSyslog` to yes
    /// (upstream: no), so an unset value forwards.
    static let defaults: [String: String] = [
        "Storage": "auto", "Compress": "yes", "Seal": "yes", "SplitMode": "uid",
        "ForwardToSyslog": "yes", "ForwardToKMsg": "no", "ForwardToConsole": "no", "ForwardToWall": "yes",
        "ReadKMsg": "yes", "Audit": "no",
    ]
    /// Settings journald parses as booleans; their value is reported as yes or no.
    static let booleans: Set<String> = [
        "Compress", "Seal", "ForwardToSyslog", "ForwardToKMsg", "ForwardToConsole", "ForwardToWall", "ReadKMsg", "Audit",
    ]

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["setting", "value", "explicit"])
        let setting = try fields.required("setting")
        let name = try setting.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber }) else {
            throw setting.error("setting must be a journald.conf key such as ForwardToSyslog, got '\(name)'")
        }
        self.init(setting: name, value: try fields.required("value").matcher(), explicit: try fields["explicit"]?.bool() ?? false)
    }

    public var probes: [Probe] { [Self.probe] }

    static let directories = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"].map { $0 + "/journald.conf.d" }
    static let probe = Probe(
        key: "journald-conf",
        script: ConfigFiles.script(["/etc/systemd/journald.conf"] + directories.map { $0 + "/*.conf" }),
        execution: .subshell(cost: 1))

    /// systemd's parse_boolean.
    static func boolean(_ text: String) -> String? {
        switch text.lowercased() {
        case "1", "yes", "y", "true", "t", "on": "yes"
        case "0", "no", "n", "false", "f", "off": "no"
        default: nil
        }
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read journald's configuration (exit \(output.exitCode))", excerpt(output.stderr))
        }
        guard let config = ConfigFiles(output.stdout) else {
            return Outcome(.error, "unexpected journald configuration probe output", excerpt(output.stdout))
        }
        var effective: String?
        var source = "the default"
        for file in config.systemdOrder(main: "/etc/systemd/journald.conf", directories: Self.directories) {
            var section = ""
            for (index, raw) in file.lines.enumerated() {
                let line = trimmed(raw, \.isWhitespace)
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
                if line.hasPrefix("[") {
                    section = String(line)
                    continue
                }
                guard section == "[Journal]", let equals = line.firstIndex(of: "=") else { continue }
                guard trimmed(line[..<equals], \.isWhitespace) == setting else { continue }
                let assigned = String(trimmed(line[line.index(after: equals)...], \.isWhitespace))
                if assigned.isEmpty {
                    // An empty assignment resets to the default.
                    effective = nil
                    source = "reset to the default in \(file.path):\(index + 1)"
                } else if Self.booleans.contains(setting), setting != "Compress" || Self.boolean(assigned) != nil {
                    // journald ignores an assignment it cannot parse and keeps the value before it.
                    guard let parsed = Self.boolean(assigned) else { continue }
                    effective = parsed
                    source = "\(file.path):\(index + 1)"
                } else {
                    // Compress also takes a size threshold, which means compression is on.
                    effective = setting == "Compress" ? "yes" : assigned
                    source = "\(file.path):\(index + 1)"
                }
            }
        }
        let value = effective ?? Self.defaults[setting] ?? ""
        let evidence = "\(setting)=\(value) (\(source))"
        if explicit, effective == nil {
            return Outcome(
                .fail, "\(setting) is not set in journald.conf or its drop-ins (the default is '\(value)'); it must be set explicitly",
                evidence)
        }
        return match(self.value, value)
            ? Outcome(.pass, evidence, evidence)
            : Outcome(.fail, "\(setting) is '\(value)' (\(source)); expected a value that \(self.value)", evidence)
    }
}
