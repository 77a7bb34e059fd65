import Foundation

/// Configuration files dumped whole by one probe, so the effective value is worked out on the host
/// the way the program reading them does (its include order, drop-in directories and defaults),
/// not by a grep that sees one file.
struct ConfigFiles {
    struct File {
        var path: String
        var lines: [Substring]
        var name: Substring { path.split(separator: "/").last ?? Substring(path) }
    }

    var files: [File]

    /// A POSIX sh loop that prints, for every existing path in `patterns` (globs, in this order),
    /// a marker line `\u{1}file PATH` and then the file with shell builtins only. An unreadable file
    /// is an error: its settings could change the answer.
    static func script(_ patterns: [String]) -> String {
        """
        for hm_f in \(patterns.joined(separator: " ")); do
          [ -e "$hm_f" ] || continue
          [ -r "$hm_f" ] || { printf 'cannot read %s\\n' "$hm_f" >&2; exit 1; }
          printf '\\001file %s\\n' "$hm_f"
          while IFS= read -r hm_l || [ -n "$hm_l" ]; do printf '%s\\n' "$hm_l"; done <"$hm_f"
        done
        """
    }

    /// Nil when the output does not start with a marker (it is not this probe's).
    init?(_ output: String) {
        var files: [File] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("\u{1}file ") {
                files.append(File(path: String(line.dropFirst(6)), lines: []))
            } else if files.isEmpty {
                guard line.isEmpty else { return nil }
            } else {
                files[files.count - 1].lines.append(line)
            }
        }
        self.files = files
    }

    /// The files in the order a systemd daemon applies them: the main file, then the drop-ins of
    /// `directories` sorted by file name, a name in an earlier directory hiding the same name in a
    /// later one.
    func systemdOrder(main: String, directories: [String]) -> [File] {
        var seen: Set<Substring> = []
        var dropIns: [File] = []
        for directory in directories {
            for file in files where file.path.hasPrefix(directory + "/") && !seen.contains(file.name) {
                seen.insert(file.name)
                dropIns.append(file)
            }
        }
        return files.filter { $0.path == main } + dropIns.sorted { $0.name < $1.name }
    }
}
