import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import Testing

@testable import Evidence

/// A report whose one failing control carries `message` and `evidence` as a guest might write them.
func report(message: String, evidence: String = "", build: Int = 1) -> AuditReport {
    let control = Control(
        id: "ssh-root", title: "Root login *off*", severity: .high, rationale: nil, remediation: nil,
        references: [:], check: .reboot, location: SourceLocation(file: "p.yaml", line: 3, column: 5))
    let result = ControlResult(control: control, policyID: "baseline", status: .fail, message: message, evidence: evidence)
    return AuditReport(
        tool: .init(version: "test"), image: .init(name: "img", version: "1.0.0", build: build, artifacts: []),
        host: .init(hostname: "h", qemuVersion: nil, accelerator: nil), inputs: [], timings: StageTimings(),
        results: [result], threshold: .info, startedAt: Date(timeIntervalSince1970: 0),
        finishedAt: Date(timeIntervalSince1970: 1), factsSHA256: nil)
}

@Suite struct UntrustedTextTests {
    static let hostile = "[click me](https://evil.example) **PASS** <img src=x onerror=alert(1)> | forged cell\n# Gate open ![i](x) `code`"

    @Test func summaryShowsGuestTextAsPlainText() throws {
        let summary = MarkdownSummary.render(report(message: Self.hostile))
        let row = try #require(summary.split(separator: "\n").first { $0.contains("ssh-root") })
        // Outside the table's own five separators, every pipe is escaped.
        #expect(row.replacingOccurrences(of: "\\|", with: "").filter { $0 == "|" }.count == 5, "\(row)")
        for raw in [#"\[click me"#, #"\]\("#, #"\*\*PASS"#, "<img", #"!\["#, "`code", #"\*off"#] {
            // Only the escaped form, with a backslash before each Markdown character, may remain.
            #expect(row.range(of: #"(?<!\\)"# + raw, options: .regularExpression) == nil, "\(raw) survived in \(row)")
        }
        #expect(row.contains(#"\[click me\]\(https\:"#) && row.contains(#"\<img"#) && row.contains(#"\*\*PASS\*\*"#), "\(row)")
        // The newline did not start a heading of its own.
        #expect(!summary.contains("\n# Gate open"))
        #expect(!summary.contains("\n\\# Gate open"))
    }

    @Test func htmlReportEscapesEveryGuestString() {
        let html = HTMLReport.render(report(message: "<script>alert(1)</script>", evidence: "\"'><svg onload=x>&amp;"))
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<svg"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains("&quot;&#39;&gt;&lt;svg onload=x&gt;&amp;amp;"))
    }

    @Test(arguments: [
        ("plain\ttext\nsecond line", "plain\ttext\nsecond line"),
        ("\u{1B}[2J\u{1B}]0;owned\u{07}cleared", "\\x1b[2J\\x1b]0;owned\\x07cleared"),
        ("over\rwrite", "over\\x0dwrite"),
        ("c1\u{9B}31m", "c1\\x9b31m"),
        ("ok\n::error::forged failure", "ok\n›::error::forged failure"),
        ("  ::add-mask::secret", "›  ::add-mask::secret"),
        ("##vso[task.setvariable variable=x]1", "›##vso[task.setvariable variable=x]1"),
        ("##[error]forged", "›##[error]forged"),
        ("a::b and ## in the middle stay", "a::b and ## in the middle stay"),
    ])
    func terminalTextLosesControlCharactersAndCICommands(text: String, expected: String) {
        #expect(UntrustedText.forTerminal(text) == expected)
    }
}
