import Compliance
import Foundation
import HallmarkModel

/// `report.html`: one self-contained page (inline CSS and script, no network fetches) with the
/// verdict, counts by result and severity, failing controls first, filters, and a print layout.
public enum HTMLReport {
    public static func render(_ audit: AuditReport) -> String {
        let order: [ResultStatus] = [.fail, .error, .notchecked, .waived, .informational, .notapplicable, .pass]
        let controls = audit.controls.sorted {
            let left = order.firstIndex(of: $0.result)!, right = order.firstIndex(of: $1.result)!
            return left != right ? left < right : $0.severity > $1.severity
        }
        let open = audit.gate.verdict == .pass
        let resultCounts = order.compactMap { status -> String? in
            let count = audit.counts[status.rawValue] ?? 0
            return count > 0 ? "<span class=\"pill \(status.rawValue)\">\(count) \(status.rawValue)</span>" : nil
        }.joined(separator: " ")
        let severityCounts = Severity.allCases.reversed().compactMap { severity -> String? in
            let count = audit.controls.filter { $0.severity == severity }.count
            let failing = audit.controls.filter { $0.severity == severity && ($0.result == .fail || $0.result == .error) }.count
            return count > 0 ? "<tr><td>\(severity.rawValue)</td><td>\(count)</td><td>\(failing)</td></tr>" : nil
        }.joined()
        let rows = controls.map { control in
            let references = control.references.sorted { $0.key < $1.key }
                .map { "\(escape($0.key.uppercased())) \(escape($0.value.joined(separator: ", ")))" }.joined(separator: "; ")
            return """
                <tr class="control" data-result="\(control.result.rawValue)" data-severity="\(control.severity.rawValue)">
                <td><span class="pill \(control.result.rawValue)">\(control.result.rawValue)</span></td>
                <td>\(control.severity.rawValue)</td>
                <td><code>\(escape(control.id))</code><div class="title">\(escape(control.title))</div><div class="muted">\(escape(control.policy))\(references.isEmpty ? "" : " · " + references)\(control.observedIn.map { " · observed in " + escape($0.joined(separator: " and ")) } ?? "")</div></td>
                <td>\(escape(control.message))\(control.evidence.isEmpty ? "" : "<pre>\(escape(control.evidence))</pre>")\(control.remediation.map { "<div class=\"remediation\"><b>Remediation:</b> \(escape($0))</div>" } ?? "")</td>
                </tr>
                """
        }.joined(separator: "\n")
        let options = { (values: [String]) in values.map { "<option value=\"\($0)\">\($0)</option>" }.joined() }
        let artifacts = audit.image.artifacts.map { "<tr><td>\(escape($0.role))</td><td><code>\($0.sha256)</code></td></tr>" }.joined()
        let timings = audit.timings.measured.map { "<tr><td>\(escape($0.stage))</td><td>\(String(format: "%.1f s", $0.seconds))</td></tr>" }
            .joined()
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(audit.image.name)) \(escape(audit.image.version))/\(audit.image.build): \(open ? "gate open" : "gate closed")</title>
            <style>
            body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2327;background:#f6f7f7}
            main{max-width:1100px;margin:0 auto;padding:24px}
            .banner{padding:20px 24px;border-radius:8px;color:#fff;margin-bottom:16px}
            .banner.open{background:#1a7f37}.banner.closed{background:#cf222e}
            .banner h1{margin:0 0 4px;font-size:24px}
            .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(260px,1fr));gap:16px;margin-bottom:16px}
            .card{background:#fff;border:1px solid #dcdcde;border-radius:8px;padding:12px 16px}
            table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:6px 8px;border-bottom:1px solid #eee;vertical-align:top}
            .pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;background:#ddd}
            .pill.pass{background:#dafbe1;color:#1a7f37}.pill.fail{background:#ffebe9;color:#cf222e}.pill.error{background:#fff1e5;color:#bc4c00}
            .pill.waived,.pill.notapplicable,.pill.notchecked,.pill.informational{background:#eaeef2;color:#57606a}
            pre{white-space:pre-wrap;background:#f6f8fa;padding:6px;border-radius:4px;margin:6px 0 0;font-size:12px}
            .title{font-weight:600}.muted{color:#646970;font-size:12px}.remediation{margin-top:6px}
            .filters{margin:8px 0 12px}select{margin-right:12px}
            @media print{body{background:#fff}.filters{display:none}.banner{color:#000;border:2px solid #000}tr{page-break-inside:avoid}}
            </style></head><body><main>
            <div class="banner \(open ? "open" : "closed")"><h1>\(open ? "Gate open" : "Gate closed"): \(escape(audit.image.name)) \(escape(audit.image.version))/\(audit.image.build)</h1>
            <div>\(escape(audit.gate.summary)) (threshold: \(audit.gate.threshold.rawValue))</div></div>
            <div class="grid">
            <div class="card"><h3>Results</h3>\(resultCounts)</div>
            <div class="card"><h3>By severity</h3><table><tr><th>severity</th><th>controls</th><th>failing</th></tr>\(severityCounts)</table></div>
            <div class="card"><h3>Run</h3><table>\(timings)<tr><td>accelerator</td><td>\(escape(audit.host.accelerator ?? "?"))</td></tr><tr><td>QEMU</td><td>\(escape(audit.host.qemuVersion ?? "?"))</td></tr><tr><td>static facts from</td><td>\(escape(audit.host.staticFacts ?? "none needed"))</td></tr><tr><td>finished</td><td>\(ISO8601DateFormatter().string(from: audit.finishedAt))</td></tr><tr><td>tool</td><td>\(escape(audit.tool.name)) \(escape(audit.tool.version))</td></tr></table></div>
            </div>
            \(audit.bootProfiles.map { $0.isEmpty ? "" : "<div class=\"card\" style=\"margin-bottom:16px\"><h3>Boot timeline</h3>\(BootTimeline.svg($0))</div>" } ?? "")
            <div class="card"><h3>Controls</h3>
            <div class="filters">Result <select id="result"><option value="">all</option>\(options(order.map(\.rawValue)))</select>
            Severity <select id="severity"><option value="">all</option>\(options(Severity.allCases.reversed().map(\.rawValue)))</select></div>
            <table><thead><tr><th>result</th><th>severity</th><th>control</th><th>why</th></tr></thead><tbody>
            \(rows)
            </tbody></table></div>
            <div class="card" style="margin-top:16px"><h3>Artifacts</h3><table>\(artifacts)</table></div>
            </main>
            <script>
            function applyFilters(){var r=document.getElementById('result').value,s=document.getElementById('severity').value;
            document.querySelectorAll('tr.control').forEach(function(row){row.style.display=((!r||row.dataset.result===r)&&(!s||row.dataset.severity===s))?'':'none';});}
            document.getElementById('result').onchange=applyFilters;document.getElementById('severity').onchange=applyFilters;
            </script></body></html>

            """
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(
                of: "'", with: "&#39;")
    }
}
