import Foundation
import HallmarkModel
import HallmarkSupport

/// Every regular file under /var/log has the mode, owner and group CIS allows for its kind
/// (CIS Debian 12 6.1.4.1's audit, by file name): login records (lastlog, wtmp, btmp and their
/// rotations) 0664 root:root|utmp; journal files 0640 root:root|systemd-journal; SSSD and GDM logs
/// 0660; everything else, authentication logs included, 0640, owned by root or syslog, group root or adm.
public struct LogFilesCheck: Resource {
    public var directory: String

    public init(directory: String = "/var/log") {
        self.directory = directory
    }

    public static let kind = ResourceKind.logFiles

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["path"])
        let path = try fields["path"]?.string() ?? "/var/log"
        guard path.hasPrefix("/"), !path.contains("'") else {
            throw body.error("path must be an absolute directory without quotes, got '\(path)'")
        }
        self.init(directory: path)
    }

    public var probes: [Probe] { [probe] }

    /// Octal mode, owner and group names (numbers when the image has no name for them), path; NUL
    /// after each file, as a name may hold a newline.
    var probe: Probe {
        Probe(
            key: ProbeKey("log-files", directory),
            script: "[ -d '\(directory)' ] || exit 0\nfind '\(directory)' -xdev -type f -printf '%m %u %g %p\\0'",
            execution: .subshell(cost: 2))
    }

    /// What CIS allows one kind of log file.
    struct Allowed: Equatable {
        var ceiling: Int
        var owners: [String]
        var groups: [String]
    }

    static func allowed(for name: Substring) -> Allowed {
        // CIS's patterns: lastlog | lastlog.* | wtmp | wtmp.* | wtmp-* | btmp | btmp.* | btmp-* | README
        func rotated(_ base: String, dash: Bool) -> Bool {
            name == base || name.hasPrefix(base + ".") || (dash && name.hasPrefix(base + "-"))
        }
        if rotated("lastlog", dash: false) || rotated("wtmp", dash: true) || rotated("btmp", dash: true) || name == "README" {
            return Allowed(ceiling: 0o664, owners: ["root"], groups: ["root", "utmp"])
        }
        if name.hasSuffix(".journal") || name.hasSuffix(".journal~") {
            return Allowed(ceiling: 0o640, owners: ["root"], groups: ["root", "systemd-journal"])
        }
        switch name {
        case "SSSD", "sssd": return Allowed(ceiling: 0o660, owners: ["root", "SSSD"], groups: ["root", "SSSD"])
        case "gdm", "gdm3": return Allowed(ceiling: 0o660, owners: ["root"], groups: ["root", "gdm", "gdm3"])
        default: return Allowed(ceiling: 0o640, owners: ["root", "syslog"], groups: ["root", "adm"])
        }
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot list \(directory) (exit \(output.exitCode))", excerpt(output.stderr))
        }
        var wrong: [String] = []
        var count = 0
        for entry in output.stdout.split(separator: "\0") where !entry.allSatisfy(\.isWhitespace) {
            let fields = entry.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let mode = Int(fields[0], radix: 8) else {
                return Outcome(.error, "unexpected output listing \(directory)", excerpt(String(entry)))
            }
            count += 1
            let path = fields[3], owner = String(fields[1]), group = String(fields[2])
            let allowed = Self.allowed(for: path.split(separator: "/").last ?? path)
            var problems: [String] = []
            if mode & ~allowed.ceiling & 0o7777 != 0 {
                problems.append("mode \(String(mode, radix: 8)) (at most \(String(allowed.ceiling, radix: 8)))")
            }
            if !allowed.owners.contains(owner) { problems.append("owner \(owner) (\(allowed.owners.joined(separator: " or ")))") }
            if !allowed.groups.contains(group) { problems.append("group \(group) (\(allowed.groups.joined(separator: " or ")))") }
            if !problems.isEmpty { wrong.append("\(path): " + problems.joined(separator: ", ")) }
        }
        guard wrong.isEmpty else {
            return Outcome(
                .fail,
                "\(wrong.count) of \(count) files under \(directory) are not as CIS allows: \(wrong.prefix(3).joined(separator: "; "))",
                excerpt(wrong.joined(separator: "\n")))
        }
        let summary = "\(count) files under \(directory), each within its mode, owner and group"
        return Outcome(.pass, summary, summary)
    }
}
