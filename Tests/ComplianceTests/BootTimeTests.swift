import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Compliance

@Suite struct BootTimeTests {
    /// The two boots of a TCG test on a busy machine, as the pipeline recorded them.
    static let recorded = [
        BootTimeFact(
            boot: "boot", agentSeconds: 56.9, settledSeconds: 61.3, kernelSeconds: 15.9, userspaceSeconds: 34.7, scale: 4,
            accelerator: "tcg", slowestUnit: "dev-vda.device (16.0 s)"),
        BootTimeFact(
            boot: "reboot", agentSeconds: 75.3, settledSeconds: 82.2, kernelSeconds: 18.8, userspaceSeconds: 43.5, scale: 4,
            accelerator: "tcg", slowestUnit: "e2scrub_reap.service (23.7 s)"),
    ]

    func evaluate(_ check: BootTimeCheck, _ boots: [BootTimeFact]?) -> ControlResult {
        var facts = Facts()
        facts.bootTimes = boots
        return Evaluator.evaluate(policy([control("boot-time", Check(check))]), facts: facts)[0]
    }

    @Test func budgetsAreScaledByTheAcceleratorsFactorAndTheResultSaysSo() {
        // 30 s on KVM is 120 s under TCG: both boots are within it.
        let result = evaluate(BootTimeCheck(withinSeconds: 30), Self.recorded)
        #expect(result.status == .pass, "\(result.message)")
        #expect(result.message == "every boot within its budget (budgets ×4.0 for tcg)")
        #expect(result.evidence.contains("reboot to agent 75.3 s (budget 120.0 s)"))
    }

    @Test func aSlowBootFailsAndNamesItsSlowestUnit() {
        let result = evaluate(BootTimeCheck(to: .settled, withinSeconds: 20), Self.recorded)
        #expect(result.status == .fail)
        // Only the reboot is over 80 s.
        #expect(!result.message.hasPrefix("boot:"))
        #expect(
            result.message.contains("reboot: to settled took 82.2 s, over its budget of 80.0 s; slowest unit e2scrub_reap.service (23.7 s)")
        )
    }

    @Test func perPhaseBudgetsAreCheckedToo() {
        let result = evaluate(BootTimeCheck(withinSeconds: 60, kernelSeconds: 5, userspaceSeconds: 10), Self.recorded)
        #expect(result.status == .fail)
        #expect(!result.message.contains("kernel"))
        #expect(result.message.contains("boot: userspace took 34.7 s, over its budget of 40.0 s") == false)
        #expect(result.message.contains("reboot: userspace took 43.5 s, over its budget of 40.0 s"))
    }

    @Test func onKVMTheBudgetIsTakenAsWritten() {
        let fast = BootTimeFact(
            boot: "boot", agentSeconds: 12, settledSeconds: 14, kernelSeconds: nil, userspaceSeconds: nil, scale: 1, accelerator: "kvm",
            slowestUnit: nil)
        #expect(evaluate(BootTimeCheck(withinSeconds: 15), [fast]).message == "every boot within its budget")
        #expect(evaluate(BootTimeCheck(withinSeconds: 10), [fast]).status == .fail)
        // A phase the guest did not report cannot pass its budget.
        let noKernel = evaluate(BootTimeCheck(withinSeconds: 15, kernelSeconds: 5), [fast])
        #expect(noKernel.status == .fail && noKernel.message.contains("boot: no kernel time was measured"))
    }

    @Test func withoutABootItIsNotChecked() {
        #expect(evaluate(BootTimeCheck(withinSeconds: 30), nil).status == .notchecked)
    }

    @Test func readsItsFieldsAndRejectsOthers() throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-boot-time")
        defer { scratch.remove() }
        let good = try YAMLInput.load(path: try scratch.write("a.yaml", "{to: settled, within: 20, userspace: 10}\n"), context: "check")
        let check = try BootTimeCheck(yaml: good)
        #expect((check.to, check.withinSeconds, check.kernelSeconds, check.userspaceSeconds) == (.settled, 20, nil, 10))
        let bad = try YAMLInput.load(path: try scratch.write("b.yaml", "{to: login, within: 20}\n"), context: "check")
        #expect(throws: HallmarkError.self) { try BootTimeCheck(yaml: bad) }
        let missing = try YAMLInput.load(path: try scratch.write("c.yaml", "{to: agent}\n"), context: "check")
        #expect(throws: HallmarkError.self) { try BootTimeCheck(yaml: missing) }
    }
}
