import ArgumentParser
import VirtualMachine

extension AcceleratorProbe.Choice: ExpressibleByArgument {}

/// How the test VM runs: test and run.
struct MachineOptions: ParsableArguments {
    @Option(help: "Accelerator: auto proves KVM works with a tiny guest first and otherwise uses TCG.")
    var accel: AcceleratorProbe.Choice = .auto

    @Flag(help: "When the test fails, leave its VM running for `hallmark shell` and `hallmark stop`.")
    var keepVMOnFailure = false
}
