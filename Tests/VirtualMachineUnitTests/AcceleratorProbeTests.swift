import Testing

@testable import VirtualMachine

/// The KVM fall-back warning names QEMU's reason, not its assertion text (which reads like a crash).
@Suite struct AcceleratorProbeTests {
    @Test func anAssertionInQEMUsLogIsSummarisedByItsFirstError() {
        let log = """
            qemu-system-x86_64: error: failed to set MSR 0x48f to 0x7fffff00036dfb
            qemu-system-x86_64: ../target/i386/kvm/kvm.c:2999: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.

            """
        let summary = AcceleratorProbe.summarizeFailure(qemuLog: log)
        #expect(summary == "KVM is present but QEMU could not start a guest with it (failed to set MSR 0x48f to 0x7fffff00036dfb)")
    }

    @Test func anEmptyLogStillSaysWhatFailed() {
        #expect(AcceleratorProbe.summarizeFailure(qemuLog: "") == "KVM is present but QEMU could not start a guest with it")
        #expect(
            AcceleratorProbe.summarizeFailure(qemuLog: "qemu-system-x86_64: x.c:1: f: Assertion `0' failed.\n")
                == "KVM is present but QEMU could not start a guest with it (it stopped on an internal check)")
    }
}
