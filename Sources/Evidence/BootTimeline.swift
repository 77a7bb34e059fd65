import Foundation

/// report.html's picture of the test's boots: one bar per boot split into kernel, initrd and
/// userspace, a mark where the guest channel answered, and the slowest units named beside it.
/// Inline SVG, so the page stays self-contained.
enum BootTimeline {
    static let width = 960.0, labelWidth = 70.0, rowHeight = 56.0, unitsShown = 3

    static func svg(_ profiles: [BootProfile]) -> String {
        guard !profiles.isEmpty else { return "" }
        let totals = profiles.map { profile in
            max(
                [profile.kernelSeconds, profile.initrdSeconds, profile.userspaceSeconds].compactMap { $0 }.reduce(0, +),
                profile.agentSeconds ?? 0)
        }
        let span = max(totals.max() ?? 0, 1)
        let scale = (width - labelWidth - 10) / span
        var parts: [String] = []
        for (row, profile) in profiles.enumerated() {
            let y = Double(row) * rowHeight + 4
            parts.append(text(x: 0, y: y + 15, HTMLReport.escape(profile.boot), bold: true))
            var x = labelWidth
            for (name, seconds, colour) in [
                ("kernel", profile.kernelSeconds, "#4f81bd"), ("initrd", profile.initrdSeconds, "#f79646"),
                ("userspace", profile.userspaceSeconds, "#9bbb59"),
            ] {
                guard let seconds else { continue }
                let w = seconds * scale
                parts.append(
                    "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"20\" fill=\"\(colour)\"><title>\(name) \(f(seconds)) s</title></rect>"
                )
                if w > 60 { parts.append(text(x: x + 4, y: y + 14, "\(name) \(f(seconds)) s", colour: "#fff")) }
                x += w
            }
            if let agent = profile.agentSeconds {
                let ax = labelWidth + agent * scale
                parts.append(
                    "<line x1=\"\(f(ax))\" y1=\"\(f(y - 2))\" x2=\"\(f(ax))\" y2=\"\(f(y + 24))\" stroke=\"#cf222e\" stroke-width=\"2\"/>")
                parts.append(text(x: min(ax + 4, width - 120), y: y + 36, "agent \(f(agent)) s", colour: "#cf222e"))
            }
            let units = profile.slowestUnits.prefix(unitsShown).map { "\(HTMLReport.escape($0.unit)) \(f($0.seconds)) s" }
            if !units.isEmpty { parts.append(text(x: labelWidth, y: y + 36, "slowest: " + units.joined(separator: ", "))) }
        }
        let height = Double(profiles.count) * rowHeight + 4
        return """
            <svg role="img" aria-label="boot timeline" viewBox="0 0 \(f(width)) \(f(height))" width="100%">\(parts.joined())</svg>
            """
    }

    static func text(x: Double, y: Double, _ content: String, colour: String = "#1d2327", bold: Bool = false) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" font-size=\"12\" fill=\"\(colour)\"\(bold ? " font-weight=\"600\"" : "")>\(content)</text>"
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
