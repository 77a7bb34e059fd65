import Foundation
import HallmarkModel
import HallmarkSupport

/// The time servers systemd-timesyncd uses, read as timesyncd reads them:
/// `/etc/systemd/timesyncd.conf`, then the `timesyncd.conf.d/*.conf` drop-ins of /etc, /run,
/// /usr/local/lib and /usr/lib in file-name order. `NTP=` and `FallbackNTP=` in `[Time]` are lists:
/// each assignment appends its servers and an empty one empties the list. A FallbackNTP no file
/// assigns is Debian's compiled-in pool.
public struct TimesyncdCheck: Resource {
    public enum Setting: String, Sendable, CaseIterable {
        case ntp = "NTP"
        case fallbackNTP = "FallbackNTP"
    }

    public var setting: Setting
    /// Matched against the effective servers, joined by single spaces ("" when none).
    public var value: Matcher
    /// A file must assign the servers: a benchmark that asks for the site's servers is not met by
    /// the compiled-in pool.
    public var explicit: Bool

    public init(setting: Setting, value: Matcher, explicit: Bool = false) {
        self.setting = setting
        self.value = value
        self.explicit = explicit
    }

    public static let kind = ResourceKind.timesyncd

    /// systemd 252 as Debian builds it (`-Dntp-servers=`).
    static let defaultFallback = "0.debian.pool.ntp.org 1.debian.pool.ntp.org 2.debian.pool.ntp.org 3.debian.pool.ntp.org"
    static let main = "/etc/systemd/timesyncd.conf"
    static let directories = ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"].map { $0 + "/timesyncd.conf.d" }

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["setting", "value", "explicit"])
        let node = try fields.required("setting")
        let name = try node.string()
        guard let setting = Setting(rawValue: name) else {
            throw node.error("setting must be one of \(Setting.allCases.map(\.rawValue).joined(separator: ", ")), got '\(name)'")
        }
        self.init(setting: setting, value: try fields.required("value").matcher(), explicit: try fields["explicit"]?.bool() ?? false)
    }

    public var probes: [Probe] { [Self.probe] }

    static let probe = Probe(
        key: "timesyncd-conf", script: ConfigFiles.script([main] + directories.map { $0 + "/*.conf" }), execution: .subshell(cost: 1))

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read timesyncd's configuration (exit \(output.exitCode))", excerpt(output.stderr))
        }
        guard let config = ConfigFiles(output.stdout) else {
            return Outcome(.error, "unexpected timesyncd configuration probe output", excerpt(output.stdout))
        }
        var servers: [String]?
        var sources: [String] = []
        for file in config.systemdOrder(main: Self.main, directories: Self.directories) {
            var section = ""
            for (index, raw) in file.lines.enumerated() {
                let line = trimmed(raw, \.isWhitespace)
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
                if line.hasPrefix("[") {
                    section = String(line)
                    continue
                }
                guard section == "[Time]", let equals = line.firstIndex(of: "="),
                    trimmed(line[..<equals], \.isWhitespace) == setting.rawValue
                else { continue }
                let assigned = line[line.index(after: equals)...].split(whereSeparator: \.isWhitespace).map(String.init)
                if assigned.isEmpty {
                    servers = []
                    sources = ["emptied in \(file.path):\(index + 1)"]
                } else {
                    // timesyncd adds a server once, however often it is named.
                    servers = (servers ?? []) + assigned.filter { !(servers ?? []).contains($0) }
                    sources.append("\(file.path):\(index + 1)")
                }
            }
        }
        let value = (servers ?? (setting == .fallbackNTP ? Self.defaultFallback.split(separator: " ").map(String.init) : []))
            .joined(separator: " ")
        let source = servers == nil ? "the default" : sources.joined(separator: ", ")
        let evidence = "\(setting.rawValue)=\(value) (\(source))"
        if explicit, servers?.isEmpty ?? true {
            return Outcome(
                .fail,
                "\(setting.rawValue) is not set in timesyncd.conf or its drop-ins (in effect: '\(value)'); it must name the site's servers",
                evidence)
        }
        return match(self.value, value)
            ? Outcome(.pass, evidence, evidence)
            : Outcome(.fail, "\(setting.rawValue) is '\(value)' (\(source)); expected a value that \(self.value)", evidence)
    }
}
