/// Text Hallmark did not write itself (guest output, image contents, evidence excerpts), made
/// safe for a terminal or a CI log.
public enum UntrustedText {
    /// Control characters (ESC, CR, BEL, C1 controls, DEL) become visible `\xHH` escapes, so they
    /// cannot move the cursor, recolour or rewrite earlier lines; `\n` and `\t` stay. A line that
    /// would start a CI log command (GitHub Actions `::error::`, `::add-mask::`; Azure Pipelines
    /// `##vso[…]`, `##[…]`) gets a visible `›` in front, since runners only parse commands at
    /// the start of a line (after blanks).
    public static func forTerminal(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A, 0x09: escaped.unicodeScalars.append(scalar)
            case 0x00..<0x20, 0x7F, 0x80..<0xA0: escaped += "\\x" + hex(scalar.value)
            // Line and paragraph separators break lines in some viewers.
            case 0x2028, 0x2029: escaped += "\\u" + hex(scalar.value)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        guard escaped.contains("::") || escaped.contains("##") else { return escaped }
        return escaped.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let start = line.drop { $0 == " " || $0 == "\t" }
            return startsLogCommand(start) ? "›" + line : String(line)
        }.joined(separator: "\n")
    }

    static func startsLogCommand(_ line: Substring) -> Bool {
        line.hasPrefix("::") || line.hasPrefix("##vso[") || line.hasPrefix("##[")
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, (value > 0xFF ? 4 : 2) - digits.count)) + digits
    }
}
