import Foundation
import HallmarkSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

@Suite struct WaiverApplicationTests {
    static let today = ISO8601DateFormatter().date(from: "2026-03-01T12:00:00Z")!

    static func waivers(_ yaml: String) throws -> Waivers {
        try Waivers.parse("waivers:\n" + yaml, file: "waivers.yaml")
    }

    static let failing = policy([
        control("root-login", Check(SshdCheck(setting: "permitrootlogin", value: .equals("no")))),
        control("max-tries", Check(SshdCheck(setting: "maxauthtries", value: .compare(.le, 4)))),
        control("forwarding", Check(SysctlCheck(key: "net.ipv4.ip_forward", value: .equals("0")))),
    ])
    static let observed = facts(["sshd": (0, "permitrootlogin yes\nmaxauthtries 6\n"), "sysctl:net.ipv4.ip_forward": (0, "1\n")])

    @Test func runModeKeepsTheEvaluation() throws {
        let waivers = try Self.waivers(
            "  - {control: root-login, justification: \"Break-glass access, ticket SEC-42\", expires: 2026-06-30, mode: run}\n")
        let results = Evaluator.applyWaivers(Evaluator.evaluate(Self.failing, facts: Self.observed), waivers, today: Self.today)
        #expect(results[0].status == .waived)
        #expect(results[0].originalStatus == .fail)
        #expect(results[0].message.contains("waived until 2026-06-30: Break-glass access, ticket SEC-42; evaluated: fail"))
        #expect(results[0].evidence == "permitrootlogin yes")
        #expect(results[0].waiver?.contains("run until 2026-06-30 (waivers.yaml:2:15)") == true, "\(results[0].waiver ?? "")")
        #expect(results[1].status == .fail && results[1].waiver == nil)
        #expect(Gate.verdict(Array(results.prefix(1)), threshold: .info) == .pass)
        #expect(Gate.verdict(results, threshold: .info) == .fail)
    }

    @Test func skipModeDoesNotEvaluate() throws {
        let waivers = try Self.waivers("  - {control: max-tries, justification: Bastion host policy, mode: skip, expires: 2999-12-31}\n")
        let results = Evaluator.evaluate(Self.failing, facts: Self.observed, waivers: waivers, today: Self.today)
        #expect(results[1].status == .waived)
        #expect(results[1].message == "waived until 2999-12-31, not evaluated: Bastion host policy")
        #expect(results[1].evidence.isEmpty && results[1].originalStatus == nil)
        // A skipped control needs no facts: it is left out of the collector.
        let controls = waivers.controlsToEvaluate(Self.failing.controls, on: Self.today)
        #expect(controls.map(\.id) == ["root-login", "forwarding"])
        #expect(Evaluator.evaluate(Self.failing, facts: Facts(), waivers: waivers, today: Self.today)[1].status == .waived)
    }

    @Test func anExpiredWaiverNoLongerApplies() throws {
        let waivers = try Self.waivers("  - {control: forwarding, justification: Router image, expires: 2026-02-28, mode: run}\n")
        let results = Evaluator.evaluate(Self.failing, facts: Self.observed, waivers: waivers, today: Self.today)
        #expect(results[2].status == .fail)
        #expect(results[2].message.hasPrefix("waiver expired on 2026-02-28, so it no longer applies; net.ipv4.ip_forward is 1"))
        #expect(results[2].waiver?.hasPrefix("expired on 2026-02-28") == true)
        // On its last day it still applies.
        let lastDay = ISO8601DateFormatter().date(from: "2026-02-28T23:00:00Z")!
        #expect(Evaluator.evaluate(Self.failing, facts: Self.observed, waivers: waivers, today: lastDay)[2].status == .waived)
        // An expired skip waiver lets the control be evaluated again.
        let skip = try Self.waivers("  - {control: forwarding, justification: Router image, expires: 2026-02-28, mode: skip}\n")
        #expect(skip.controlsToEvaluate(Self.failing.controls, on: Self.today).count == 3)
        #expect(Evaluator.evaluate(Self.failing, facts: Self.observed, waivers: skip, today: Self.today)[2].status == .fail)
    }

    @Test func waiversOnlyNameKnownControls() throws {
        let waivers = try Self.waivers(
            "  - {control: root-login, justification: j, expires: 2999-12-31}\n  - {control: rootlogin, justification: j, expires: 2999-12-31}\n"
        )
        let error = try #require(throws: HallmarkError.self) { try waivers.validate(against: Self.failing.controls.map(\.id)) }
        #expect(error.location?.line == 3)
        #expect(error.message.contains("'rootlogin'"))
    }
}
