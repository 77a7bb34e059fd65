import HallmarkSupport
import Testing

@testable import VirtualMachine

/// The VM's lifecycle, apart from QEMU: what a VM may still do in each state.
@Suite struct MachineLifecycleTests {
    @Test func bootRebootAndShutdownMoveThroughTheStates() throws {
        var lifecycle = MachineLifecycle(name: "hallmark-web")
        #expect(lifecycle.state == .starting)
        lifecycle.guestAnswered()
        #expect(lifecycle.state == .running)
        try lifecycle.rebootRequested()
        #expect(lifecycle.state == .rebooting)
        lifecycle.poweredOn()
        #expect(lifecycle.state == .starting)
        lifecycle.guestAnswered()
        #expect(lifecycle.state == .running)
        let ended1 = lifecycle.end(as: .stopped)
        #expect(ended1)
        #expect(lifecycle.state == .stopped)
    }

    @Test func execAfterShutdownIsRefusedWithAClearError() throws {
        var lifecycle = MachineLifecycle(name: "hallmark-web")
        lifecycle.guestAnswered()
        try lifecycle.requireUsable(for: "reading the guest's boot_id")
        let ended2 = lifecycle.end(as: .stopped)
        #expect(ended2)
        let error = try #require(throws: HallmarkError.self) { try lifecycle.requireUsable(for: "reading the guest's boot_id") }
        #expect(error.code == .machineFailed)
        #expect(error.message == "cannot run reading the guest's boot_id in hallmark-web: the VM has been shut down")
        #expect(throws: HallmarkError.self) { try lifecycle.rebootRequested() }
    }

    @Test func aDetachedVMIsNoLongerDriven() {
        var lifecycle = MachineLifecycle(name: "hallmark-web")
        let ended3 = lifecycle.end(as: .detached)
        #expect(ended3)
        let error = #expect(throws: HallmarkError.self) { try lifecycle.requireUsable(for: "cat /etc/hostname") }
        #expect(error?.message.contains("no longer driven") == true)
    }

    /// Teardown runs once: a second shutdown (or a shutdown after detach) does nothing.
    @Test func endingTwiceIsANoOp() {
        var lifecycle = MachineLifecycle(name: "hallmark-web")
        let ended4 = lifecycle.end(as: .stopped)
        #expect(ended4)
        let ended5 = lifecycle.end(as: .stopped)
        #expect(!ended5)
        let ended6 = lifecycle.end(as: .detached)
        #expect(!ended6)
        #expect(lifecycle.state == .stopped)
    }
}
