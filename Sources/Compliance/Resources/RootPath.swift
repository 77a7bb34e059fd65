import Foundation
import HallmarkModel
import HallmarkSupport

/// root's PATH in a login shell of the booted guest (what /etc/profile, profile.d and root's own
/// startup files make of it) has no empty entry, no `.` or other relative entry, and only
/// directories that root owns and that neither group nor others may write (CIS 5.4.2.5's audit).
public struct RootPathCheck: Resource {
    public init() {}

    public static let kind = ResourceKind.rootPath

    public init(yaml body: YAMLInput) throws {
        _ = try body.mapping(allowed: [])
        self.init()
    }

    public var probes: [Probe] { [Self.probe] }

    /// A clean login shell as root, so the agent's or collector's own PATH does not leak in; the
    /// marker keeps what the startup files print apart from the value. Then each entry as
    /// `dir MODE OWNER PATH` (following symlinks, as the shell does) or `notdir PATH`.
    static let probe = Probe(
        key: "root-path",
        script: """
            hm_p=$(cd / && env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb bash -l -c 'printf "\\001PATH=%s\\n" "$PATH"' </dev/null 2>/dev/null | sed -n 's/^\\x01PATH=//p' | tail -n 1)
            printf 'path=%s\\n' "$hm_p"
            set -f; hm_ifs=$IFS; IFS=:
            for hm_d in $hm_p; do
              IFS=$hm_ifs
              if [ -n "$hm_d" ] && [ -d "$hm_d" ]; then printf 'dir %s\\n' "$(stat -Lc '%a %U' -- "$hm_d") $hm_d"; else printf 'notdir %s\\n' "$hm_d"; fi
            done
            IFS=$hm_ifs
            """, runtime: true, execution: .subshell(cost: 6))

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read root's login PATH (exit \(output.exitCode))", excerpt(output.stderr))
        }
        let rows = lines(output.stdout)
        guard let first = rows.first, first.hasPrefix("path=") else {
            return Outcome(.error, "unexpected root PATH probe output", excerpt(output.stdout))
        }
        let path = String(first.dropFirst(5))
        guard !path.isEmpty else { return Outcome(.fail, "root's login shell has an empty PATH", first) }
        var problems: [String] = []
        let entries = path.split(separator: ":", omittingEmptySubsequences: false)
        if entries.contains(where: \.isEmpty) { problems.append("an empty entry (the current directory)") }
        for entry in entries where !entry.isEmpty && !entry.hasPrefix("/") {
            problems.append("'\(entry)' is relative (the current directory)")
        }
        for row in rows.dropFirst() {
            if row.hasPrefix("notdir ") {
                let entry = row.dropFirst(7)
                if entry.hasPrefix("/") { problems.append("\(entry) is not a directory") }
                continue
            }
            let fields = row.split(separator: " ", maxSplits: 3)
            guard fields.count == 4, fields[0] == "dir", let mode = Int(fields[1], radix: 8) else {
                return Outcome(.error, "unexpected root PATH probe output", excerpt(output.stdout))
            }
            if fields[2] != "root" { problems.append("\(fields[3]) is owned by \(fields[2])") }
            if mode & 0o022 != 0 { problems.append("\(fields[3]) is mode \(fields[1]) (group or others may write)") }
        }
        let evidence = excerpt(output.stdout)
        return problems.isEmpty
            ? Outcome(.pass, "PATH=\(path): every entry a root-owned directory only root may write", evidence)
            : Outcome(.fail, "root's PATH (\(path)) has " + problems.joined(separator: "; "), evidence)
    }
}
