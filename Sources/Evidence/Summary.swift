import Compliance
import Foundation

/// `summary.md`: a short Markdown summary for a CI job summary page.
public enum MarkdownSummary {
    public static func render(_ audit: AuditReport) -> String {
        let banner = audit.gate.verdict == .pass ? "✅ **Gate open**" : "❌ **Gate closed**"
        var lines = [
            "# \(audit.image.name) \(audit.image.version)/\(audit.image.build)", "",
            "\(banner): \(audit.gate.summary)", "",
            "| result | controls |", "| --- | --- |",
        ]
        for status in ResultStatus.allCases where (audit.counts[status.rawValue] ?? 0) > 0 {
            lines.append("| \(status.rawValue) | \(audit.counts[status.rawValue]!) |")
        }
        let problems = audit.controls.filter { $0.result == .fail || $0.result == .error }
        if !problems.isEmpty {
            lines += ["", "## Failing controls", "", "| control | severity | result | why |", "| --- | --- | --- | --- |"]
            for control in problems {
                lines.append("| `\(control.id)` \(escape(control.title)) | \(control.severity.rawValue) | \(control.result.rawValue) | \(escape(control.message)) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
