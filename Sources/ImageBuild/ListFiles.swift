import Foundation
import HallmarkModel
import HallmarkSupport

extension StepScript {
    /// TOE's ListFiles: the files (anything but a folder) of each entry's folder, its subfolders
    /// too with `recursive: true`, only those whose name matches `fileNamePattern` when given;
    /// printed one a line, sorted per entry. The runner joins them with commas as the step's
    /// `outputs.files`. A path that is not a folder fails the step, naming the entry.
    static func listFilesScript(_ entries: [InputValue], substitute: (InputValue) throws -> String) throws -> String {
        var lines = ["set -o pipefail"]
        for (index, entry) in entries.enumerated() {
            var path = try substitute(entry["path"]!)
            while path.count > 1, path.hasSuffix("/") { path.removeLast() }
            let recursive = try entry["recursive"].map(substitute)?.lowercased() == "true"
            let pattern = try entry["fileNamePattern"].map(substitute)
            let quoted = shellQuoted(path)
            let missing = "entry \(index + 1) (path '\(path)') is not a folder in the image"
            lines.append("[ -d \(quoted) ] || { printf '%s\\n' \(shellQuoted(missing)) >&2; exit 1; }")
            var find = ["find", quoted, "-mindepth 1"]
            if !recursive { find.append("-maxdepth 1") }
            find.append("! -xtype d")
            if let pattern { find.append("-name \(shellQuoted(pattern))") }
            lines.append(find.joined(separator: " ") + " -print0 | sort -z | tr '\\0' '\\n'")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
