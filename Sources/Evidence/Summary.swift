import Compliance
import Foundation
import HallmarkModel

/// `summary.md`: a short Markdown summary for a CI job summary page.
public enum MarkdownSummary {
    public static func render(_ audit: AuditReport) -> String {
        let banner = audit.gate.verdict == .pass ? "✅ **Gate open**" : "❌ **Gate closed**"
        var lines = [
            "# \(escape(audit.image.name)) \(escape(audit.image.version))/\(audit.image.build)", "",
            "\(banner): \(escape(audit.gate.summary))", "",
            "| result | controls |", "| --- | --- |",
        ]
        for status in ResultStatus.allCases where (audit.counts[status.rawValue] ?? 0) > 0 {
            lines.append("| \(status.rawValue) | \(audit.counts[status.rawValue]!) |")
        }
        if let profiles = audit.bootProfiles, !profiles.isEmpty {
            lines += ["", "Boot: " + profiles.map { escape($0.summaryLine) }.joined(separator: "; ")]
        }
        let problems = audit.controls.filter { $0.result == .fail || $0.result == .error }
        if !problems.isEmpty {
            lines += ["", "## Failing controls", "", "| control | severity | result | why |", "| --- | --- | --- | --- |"]
            for control in problems {
                lines.append(
                    "| `\(control.id)` \(escape(control.title)) | \(control.severity.rawValue) | \(control.result.rawValue) | \(escape(control.message)) |"
                )
            }
        }
        lines += ["", "\(escape(audit.tool.name)) \(escape(audit.tool.version))"]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Messages quote the guest and the image, so nothing in them may become a link, emphasis,
    /// HTML or a new table cell in a CI job summary: every character with a Markdown meaning is
    /// backslash-escaped (CommonMark renders `\<` as `<`), line breaks and control characters
    /// become spaces. A bare URL may still be shown as a link; its target is the text shown.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character.isNewline || character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                escaped.append(" ")
            } else if let ascii = character.asciiValue, markdownPunctuation.contains(ascii) {
                escaped += "\\" + String(character)
            } else {
                escaped.append(character)
            }
        }
        return escaped
    }

    private static let markdownPunctuation = Set("\\`*_{}[]()#+-.!|~<>&:=\"'".utf8)
}
