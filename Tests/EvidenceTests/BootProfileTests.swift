import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Evidence

@Suite struct BootProfileTests {
    /// `BootProfile.guestCommand`'s output in the form systemd 252 (Debian 12) prints it.
    let recorded = """
        Startup finished in 7.612s (kernel) + 1.046s (initrd) + 15.315s (userspace) = 23.974s
        multi-user.target reached after 15.301s in userspace.
        --hallmark-blame--
        1min 2.001s slow-start.service
             6.301s e2scrub_reap.service
             5.412s ssh.service
              740ms systemd-udev-trigger.service
              900us tmp.mount
        """

    @Test func readsEveryPhaseAndTheSlowestUnits() {
        let profile = BootProfile.parse(recorded, boot: "boot", agentSeconds: 21.5)
        #expect(profile.kernelSeconds == 7.612)
        #expect(profile.initrdSeconds == 1.046)
        #expect(profile.userspaceSeconds == 15.315)
        #expect(profile.agentSeconds == 21.5)
        #expect(
            profile.slowestUnits.map(\.unit) == [
                "slow-start.service", "e2scrub_reap.service", "ssh.service", "systemd-udev-trigger.service", "tmp.mount",
            ])
        #expect(abs(profile.slowestUnits[0].seconds - 62.001) < 1e-9)
        #expect(abs(profile.slowestUnits[3].seconds - 0.74) < 1e-9)
        #expect(
            profile.summaryLine
                == "boot: agent in 21.5 s, kernel 7.6 s + initrd 1.0 s + userspace 15.3 s, slowest unit slow-start.service 62.0 s")
    }

    @Test func aGuestStillBootingGivesNoInventedFigures() {
        let output = """
            Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).
            --hallmark-blame--
            garbage line
            """
        let profile = BootProfile.parse(output, boot: "reboot", agentSeconds: nil)
        #expect(profile.kernelSeconds == nil && profile.initrdSeconds == nil && profile.userspaceSeconds == nil)
        #expect(profile.slowestUnits.isEmpty)
        #expect(profile.summaryLine == "reboot: no profile")
    }

    @Test(arguments: [("740ms", 0.74), ("15.315s", 15.315), ("1min 2.5s", 62.5), ("1h 2min 3s", 3723.0), ("12us", 0.000012)])
    func readsSystemdTimeSpans(text: String, seconds: Double) {
        #expect(abs((BootProfile.seconds(text) ?? -1) - seconds) < 1e-9)
    }

    @Test func rejectsWhatIsNoTimeSpan() {
        #expect(BootProfile.seconds("fast") == nil)
        #expect(BootProfile.seconds("") == nil)
    }

    @Test(.enabled(if: EvidenceWriterTests.hasJSONSchema, "needs python3 with jsonschema"))
    func bothBootsGoIntoReportJSONAndOneSummaryLine() async throws {
        var audit = EvidenceWriterTests.audit()
        audit.bootProfiles = [
            BootProfile.parse(recorded, boot: "boot", agentSeconds: 21.5),
            BootProfile(boot: "reboot", agentSeconds: 18, slowestUnits: [.init(unit: "evil_[x](y).service", seconds: 3)]),
        ]
        let directory = try TemporaryDirectory(prefix: "hallmark-boot-profile")
        defer { directory.remove() }
        try audit.write(to: directory.path + "/report.json")
        try await Schemas.validateReport(directory.path + "/report.json")
        let written = try JSONDecoder.hallmark.decode(
            AuditReport.self, from: Data(contentsOf: URL(fileURLWithPath: directory.path + "/report.json")))
        #expect(written.bootProfiles == audit.bootProfiles)

        let boots = MarkdownSummary.render(audit).split(separator: "\n").filter { $0.hasPrefix("Boot: ") }
        #expect(boots.count == 1)
        #expect(boots.first?.contains("slowest unit slow\\-start\\.service 62\\.0 s") == true)
        // A unit's name comes from the guest: it cannot become a link in a CI job summary.
        #expect(boots.first?.contains("evil\\_\\[x\\]\\(y\\)\\.service") == true)
    }

    @Test func theHTMLReportDrawsBothBootsAndNamesTheSlowestUnit() {
        var audit = EvidenceWriterTests.audit()
        #expect(!HTMLReport.render(audit).contains("<svg"))
        audit.bootProfiles = [
            BootProfile.parse(recorded, boot: "boot", agentSeconds: 21.5),
            BootProfile(boot: "reboot", agentSeconds: 18, slowestUnits: [.init(unit: "<script>x</script>.service", seconds: 3)]),
        ]
        let html = HTMLReport.render(audit)
        #expect(html.components(separatedBy: "<svg").count == 2)
        #expect(html.contains("slowest: slow-start.service 62.0 s"))
        #expect(html.contains("agent 21.5 s") && html.contains("agent 18.0 s"))
        #expect(html.contains("&lt;script&gt;x&lt;/script&gt;.service 3.0 s"))
        #expect(!html.contains("<script>x"))
        // The report is opened offline and must fetch nothing, not even a namespace URL.
        #expect(!html.contains("http://") && !html.contains("https://"))
    }
}
