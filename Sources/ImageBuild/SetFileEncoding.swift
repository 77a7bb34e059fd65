import Foundation
import HallmarkModel
import HallmarkSupport

extension StepScript {
    /// TOE's SetFileEncoding: each entry's file, read as UTF-8, is rewritten in `encoding`
    /// (default utf8) with iconv, in place, so its owner and mode stay. No byte order mark is
    /// added; one the file starts with is converted like any other character. A missing file,
    /// text that is not UTF-8 or an encoding TOE does not name fails the step, naming the entry,
    /// and no entry is converted when an encoding is wrong.
    static func setFileEncodingScript(_ entries: [InputValue], substitute: (InputValue) throws -> String) throws -> String {
        var conversions: [(entry: Int, path: String, encoding: TextEncoding)] = []
        for (index, entry) in entries.enumerated() {
            let path = try substitute(entry["path"]!)
            let name = try entry["encoding"].map(substitute) ?? "utf8"
            guard let encoding = TextEncoding(toeName: name) else {
                // Only a rendered value gets here: a literal one was refused at load.
                if name.contains(pendingOutput) { continue }
                let message = "entry \(index + 1) (path '\(path)') has encoding '\(name)', which is not one of: \(TextEncoding.toeNames)"
                return "printf '%s\\n' \(shellQuoted(message)) >&2\nexit 1\n"
            }
            conversions.append((index + 1, path, encoding))
        }
        var lines = ["converted=$(mktemp)", "trap 'rm -f \"$converted\"' EXIT"]
        for conversion in conversions {
            let path = shellQuoted(conversion.path)
            let entry = "entry \(conversion.entry) (path '\(conversion.path)')"
            lines += [
                "[ -f \(path) ] || { printf '%s\\n' \(shellQuoted(entry + " is not a file in the image")) >&2; exit 1; }",
                "iconv -f UTF-8 -t \(conversion.encoding.iconvName) < \(path) > \"$converted\" 2>/dev/null"
                    + " || { printf '%s\\n' \(shellQuoted(entry + " is not UTF-8 text, which SetFileEncoding converts from")) >&2; exit 1; }",
                "cat \"$converted\" > \(path)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
