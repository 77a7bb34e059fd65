import GuestChannel
import Synchronization
import Testing

@testable import VirtualMachine

/// The choice of guest channel once the console shell answers, without a VM: when Hallmark falls
/// back from the agent, and what the report then says.
@Suite struct ChannelFallbackTests {
    let start = ContinuousClock.now

    @Test func theConsoleSettingTakesTheShellAtOnce() async {
        var fallback = ChannelFallback(choice: .console)
        let decision = await fallback.shellAnswered(agentBlocked: nil, now: start) {
            Issue.record("asked for the agent"); return nil
        }
        #expect(decision == .useShell(note: "the recipe asks for the console shell"))
    }

    @Test func anAgentThatBlocksExecGivesWayToTheShellWithItsReason() async {
        var fallback = ChannelFallback(choice: .auto)
        let decision = await fallback.shellAnswered(agentBlocked: "guest-exec is disabled in qemu-ga's config", now: start) { nil }
        #expect(decision == .useShell(note: "guest-exec is disabled in qemu-ga's config; using the console shell"))
    }

    @Test func anImageWithoutTheAgentUsesTheShellWithoutWaiting() async {
        var fallback = ChannelFallback(choice: .auto)
        let decision = await fallback.shellAnswered(agentBlocked: nil, now: start) { "the image has no qemu-guest-agent" }
        #expect(decision == .useShell(note: "the image has no qemu-guest-agent; using the console shell"))
    }

    @Test func anInstalledAgentGetsItsGraceThenTheShellIsUsed() async {
        var fallback = ChannelFallback(choice: .auto)
        let asked = Atomic(0)
        let installed: @Sendable () async -> String? = {
            asked.add(1, ordering: .relaxed)
            return nil
        }
        #expect(await fallback.shellAnswered(agentBlocked: nil, now: start, agentMissing: installed) == .waitForAgent)
        let almost = start + ChannelFallback.agentGrace - .seconds(1)
        #expect(await fallback.shellAnswered(agentBlocked: nil, now: almost, agentMissing: installed) == .waitForAgent)
        let after = start + ChannelFallback.agentGrace
        let decision = await fallback.shellAnswered(agentBlocked: nil, now: after, agentMissing: installed)
        #expect(
            decision
                == .useShell(
                    note: "the guest agent is installed but did not answer within 60 s of the console shell; using the console shell"))
        // Whether the agent is installed is asked once, on the shell's first answer.
        #expect(asked.load(ordering: .relaxed) == 1)
    }
}
