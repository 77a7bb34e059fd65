import Compliance
import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

@Suite struct WaiverTests {
    @Test func parsesWaivers() throws {
        let waivers = try Waivers.parse(
            """
            waivers:
              - control: cis-tmp-separate
                justification: "/tmp is a tmpfs provided by the platform at boot"
                expires: 2027-06-30
                mode: skip
              - control: cis-aide-installed
                justification: Integrity is checked by the platform.
                expires: 2027-01-31
            """, file: "w.yaml")
        #expect(waivers.waivers.count == 2)
        #expect(waivers.waivers[0].expires == CalendarDay("2027-06-30"))
        #expect(waivers.waivers[0].mode == .skip)
        #expect(waivers.waivers[1].mode == .run)
        #expect(waivers.waivers[1].expires == CalendarDay("2027-01-31"))
        #expect(waivers.waivers[0].location.line == 2)
        #expect(!waivers.digest.isEmpty)
    }

    @Test func expiryIsInclusiveAndInUTC() throws {
        let waiver = Waiver(
            controlID: "c", justification: "j", expires: CalendarDay("2027-06-30"), mode: .run, location: SourceLocation(file: "w"))
        let formatter = ISO8601DateFormatter()
        #expect(!waiver.isExpired(on: formatter.date(from: "2027-06-30T23:59:59Z")!))
        #expect(waiver.isExpired(on: formatter.date(from: "2027-07-01T00:00:00Z")!))
        #expect(
            !Waiver(controlID: "c", justification: "j", expires: nil, mode: .run, location: SourceLocation(file: "w"))
                .isExpired(on: Date.distantFuture))
    }

    @Test(arguments: [
        ("waivers:\n  - control: a\n    expires: 2027-01-01\n", "missing the required key 'justification'", 2, 5),
        ("waivers:\n  - control: a\n    justification: \"  \"\n", "justification must say why", 3, 20),
        ("waivers:\n  - control: a\n    justification: j\n", "waiver for control 'a' has no 'expires' date", 2, 5),
        (
            "waivers:\n  - &w {control: a, justification: j, expires: 2027-01-01}\n  - *w\n",
            "YAML anchors and aliases are not allowed in waiver files", 2, 5
        ),
        ("waivers:\n  - control: a\n    justification: j\n    expires: 2027-02-30\n", "expires must be a date YYYY-MM-DD", 4, 14),
        ("waivers:\n  - control: a\n    justification: j\n    expires: next year\n", "expires must be a date", 4, 14),
        ("waivers:\n  - control: a\n    justification: j\n    expires: 2027-01-01\n    mode: ignore\n", "mode must be skip", 5, 11),
        ("waivers:\n  - control: a\n    justification: j\n    reason: x\n", "unknown key 'reason'", 4, 5),
        (
            "waivers:\n  - {control: a, justification: j, expires: 2027-01-01}\n  - {control: a, justification: k, expires: 2027-01-01}\n",
            "a second waiver for control 'a'", 3, 15
        ),
        ("waiver:\n  - control: a\n", "unknown key 'waiver'", 1, 1),
        ("waivers: [\n", "invalid YAML", 2, 1),
    ])
    func malformedWaiversAreRejectedWithPositions(text: String, expected: String, line: Int, column: Int) throws {
        let error = try #require(throws: HallmarkError.self) { try Waivers.parse(text, file: "w.yaml") }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location?.file == "w.yaml")
        #expect(error.location?.line == line && error.location?.column == column, "\(error)")
    }

    @Test func unknownControlIdsAreRejectedAtTheWaiver() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "w.yaml",
            "waivers:\n  - control: known\n    justification: j\n    expires: 2027-01-01\n  - control: typo\n    justification: j\n    expires: 2027-01-01\n"
        )
        let waivers = try Waivers.load(path: path)
        let error = try #require(throws: HallmarkError.self) { try waivers.validate(against: ["known", "other"]) }
        #expect(error.message.contains("unknown control 'typo'"))
        #expect(error.location == SourceLocation(file: path, line: 5, column: 14))
        #expect(throws: Never.self) { try waivers.validate(against: ["known", "typo"]) }
    }

    @Test func skipWaiversRemoveControlsFromEvaluation() throws {
        let waivers = try Waivers.parse(
            """
            waivers:
              - {control: a, justification: j, mode: skip, expires: 2020-01-01}
              - {control: b, justification: j, mode: skip, expires: 2999-12-31}
              - {control: c, justification: j, mode: run, expires: 2999-12-31}
            """, file: "w.yaml")
        let controls = ["a", "b", "c", "d"].map {
            Control(
                id: $0, title: $0, severity: .low, rationale: nil, remediation: nil, references: [:], check: .reboot,
                location: SourceLocation(file: "p"))
        }
        #expect(waivers.skipped(on: Date()) == ["b"])
        #expect(waivers.controlsToEvaluate(controls, on: Date()).map(\.id) == ["a", "c", "d"])
    }
}
