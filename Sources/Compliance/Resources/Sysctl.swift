import Foundation
import HallmarkModel
import HallmarkSupport

/// A kernel parameter: its live value, its persisted configuration, or both.
public struct SysctlCheck: Resource {
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

    public static let kind = ResourceKind.sysctl

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["key", "value", "persisted", "live"])
        let persisted = try fields["persisted"]?.bool() ?? false
        let live = try fields["live"]?.bool() ?? true
        guard live || persisted else { throw body.error("sysctl check with 'live: false' needs 'persisted: true'") }
        let key = try fields.required("key").string().replacingOccurrences(of: "/", with: ".")
        guard key.range(of: #"^[A-Za-z0-9_][A-Za-z0-9_.*-]*$"#, options: .regularExpression) != nil else {
            throw try fields.required("key").error("'\(key)' is not a sysctl key")
        }
        self.init(key: key, value: try fields.required("value").matcher(), persisted: persisted, live: live)
    }

    public var probes: [Probe] {
        (live ? [Self.live(key)] : []) + (persisted ? [Self.configuration] : [])
    }

    /// The rule notes a part whose fact was not collected (the live value in a root filesystem).
    public var decidesWithMissingFacts: Bool { true }

    static func live(_ key: String) -> Probe {
        Probe(
            key: ProbeKey("sysctl", key), script: "hm_cat \(shellQuoted("/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")))",
            runtime: true, execution: .inline)
    }

    /// Every sysctl configuration file in the order systemd-sysctl and `sysctl --system` look at
    /// directories; evaluation picks the first file of each name and applies them by name, then /etc/sysctl.conf.
    static let configuration = Probe(
        key: "sysctl-config",
        script: """
            set --
            for hm_d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
              for hm_f in "$hm_d"/*.conf; do [ -f "$hm_f" ] && set -- "$@" "$hm_f"; done
            done
            [ -f /etc/sysctl.conf ] && set -- "$@" /etc/sysctl.conf
            [ $# -eq 0 ] || tail -v -n +1 -- "$@"
            """, execution: .subshell(cost: 1))

    /// Live value (`/proc/sys`) and/or persisted value (the configuration files, last one wins).
    /// A part whose fact was not collected (the live value in a root filesystem) is noted, not failed.
    public func evaluate(_ facts: Facts) -> Outcome {
        let sysctl = self
        var problems: [String] = [], evidence: [String] = [], notes: [String] = []
        var checked = 0
        if sysctl.live {
            let key = Self.live(sysctl.key).key
            if let fact = facts.probes[key] {
                checked += 1
                guard fact.exitCode == 0 else { return Outcome(.error, "sysctl \(sysctl.key) cannot be read", excerpt(fact.stderr)) }
                let value = normalizeWhitespace(fact.stdout)
                guard !value.isEmpty else { return Outcome(.error, "sysctl \(sysctl.key) read as empty", excerpt(fact.stderr)) }
                evidence.append("\(sysctl.key) = \(value)")
                if !match(sysctl.value, value) { problems.append("\(sysctl.key) is \(value); expected a value that \(sysctl.value)") }
            } else {
                notes.append(
                    facts.source == .rootfs ? "the live value is not observable in a root filesystem" : "no fact '\(key)' was collected")
            }
        }
        if sysctl.persisted {
            if let fact = facts.probes[Self.configuration.key] {
                checked += 1
                // A file that could not be read may hold the setting.
                guard fact.exitCode == 0 else {
                    return Outcome(.error, "the sysctl configuration files cannot be read (exit \(fact.exitCode))", excerpt(fact.stderr))
                }
                if let (value, file) = Self.persistedSysctl(sysctl.key, in: fact.stdout) {
                    evidence.append("persisted: \(sysctl.key) = \(value) (\(file))")
                    if !match(sysctl.value, value) {
                        problems.append("\(file) sets \(sysctl.key) = \(value); expected a value that \(sysctl.value)")
                    }
                } else {
                    evidence.append("persisted: \(sysctl.key) is not set in any sysctl configuration file")
                    problems.append("\(sysctl.key) is not set in /etc/sysctl.conf or any sysctl.d file")
                }
            } else {
                notes.append(facts.notCollected(Self.configuration))
            }
        }
        guard checked > 0 else { return Outcome(.notchecked, notes.joined(separator: "; "), "") }
        let note = notes.isEmpty ? "" : " (not checked: \(notes.joined(separator: "; ")))"
        return problems.isEmpty
            ? Outcome(.pass, evidence.joined(separator: "; ") + note, evidence.joined(separator: "\n"))
            : Outcome(.fail, problems.joined(separator: "; ") + note, evidence.joined(separator: "\n"))
    }

    /// The value `key` ends up with after systemd-sysctl / `sysctl --system` read every file: the
    /// first file of each name in directory order, applied by file name, then /etc/sysctl.conf.
    static func persistedSysctl(_ key: String, in listing: String) -> (value: String, file: String)? {
        var sections: [(path: String, lines: [Substring])] = []
        for line in listing.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("==> ") {
                // `tail -v` writes "==> PATH <=="; older facts wrote "==> PATH".
                let header = line.dropFirst(4)
                sections.append((String(header.hasSuffix(" <==") ? header.dropLast(4) : header), []))
            } else if !sections.isEmpty {
                sections[sections.count - 1].lines.append(line)
            }
        }
        var byName: [String: (path: String, lines: [Substring])] = [:]
        var sysctlConf: (path: String, lines: [Substring])?
        for section in sections {
            if section.path == "/etc/sysctl.conf" { sysctlConf = section; continue }
            let name = (section.path as NSString).lastPathComponent
            if byName[name] == nil { byName[name] = section }
        }
        let ordered = byName.keys.sorted().map { byName[$0]! } + (sysctlConf.map { [$0] } ?? [])
        var result: (String, String)?
        for section in ordered {
            for rawLine in section.lines {
                var line = String(trimmed(rawLine, isBlank))
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
                if line.hasPrefix("-") { line.removeFirst() }
                let parts = line.split(separator: "=", maxSplits: 1).map { String(trimmed($0, isBlank)) }
                guard parts.count == 2 else { continue }
                if parts[0].replacingOccurrences(of: "/", with: ".") == key {
                    result = (normalizeWhitespace(parts[1]), section.path)
                }
            }
        }
        return result
    }
}
