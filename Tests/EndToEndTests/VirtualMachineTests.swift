import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import ImageStore
import Testing
import VirtualMachine

/// The VM layer against real QEMU: a guest without a working agent must fail within its timeout,
/// naming what was awaited and showing the console, and leave nothing running.
extension EndToEndTests.VirtualMachineLayer {
    /// A kernel without virtio console support has neither channel: the agent's port and the
    /// console shell's are both virtio-serial ports.
    @Test func guestWithNeitherChannelFailsWithinItsTimeoutShowingTheConsole() async throws {
        let image = try await SharedImages.minimal()
        let configuration = try await Self.configuration(image, commandLine: image.kernelCommandLine + " module_blacklist=virtio_console")
        #expect(configuration.channel == .auto)
        let start = ContinuousClock.now
        let error = try await #require(throws: HallmarkError.self) {
            try await VirtualMachine.with(configuration) { machine in
                _ = try await machine.waitForGuest(timeout: .seconds(30))
            }
        }
        let elapsed = ContinuousClock.now - start
        #expect(elapsed >= .seconds(30) && elapsed < .seconds(75))
        #expect(error.code == .machineFailed)
        #expect(
            error.message.contains(
                "neither the guest agent (org.qemu.guest_agent.0) nor the console shell (org.hallmark.shell.0) answered within 30.0s"),
            "\(error.message.prefix(300))")
        #expect(error.message.contains("Last lines of the serial console"))
        #expect(!FileManager.default.fileExists(atPath: configuration.runDirectory))
        #expect(Hallmark.leftoverQEMU(named: "hallmark-vmtest").isEmpty)
    }

    /// `channel: agent` never falls back: a masked agent fails within the timeout, naming the agent.
    @Test func agentOnlyGuestWithAMaskedAgentFailsWithinItsTimeout() async throws {
        let image = try await SharedImages.minimal()
        var configuration = try await Self.configuration(
            image, commandLine: image.kernelCommandLine + " systemd.mask=qemu-guest-agent.service")
        configuration.channel = .agent
        #expect(!configuration.qemuCommand.arguments.joined(separator: " ").contains("org.hallmark.shell.0"))
        let error = try await #require(throws: HallmarkError.self) {
            try await VirtualMachine.with(configuration) { machine in
                _ = try await machine.waitForGuest(timeout: .seconds(30))
            }
        }
        #expect(error.message.contains("guest agent (org.qemu.guest_agent.0) did not answer within 30.0s"), "\(error.message.prefix(300))")
        #expect(error.message.contains("Last lines of the serial console"))
        #expect(Hallmark.leftoverQEMU(named: "hallmark-vmtest").isEmpty)
    }

    @Test func qemuThatDiesEarlyIsReportedWithTheConsoleTail() async throws {
        let image = try await SharedImages.minimal()
        // An empty initrd means no virtio driver: the kernel cannot mount its root and panics, and
        // with panic=-1 and -no-reboot QEMU exits.
        var configuration = try await Self.configuration(image, commandLine: "root=/dev/vda console=ttyS0 panic=-1")
        configuration.initrd = configuration.runDirectory + "/empty-initrd"
        try Data(count: 4096).write(to: URL(fileURLWithPath: configuration.initrd))
        let error = try await #require(throws: HallmarkError.self) {
            try await VirtualMachine.with(configuration) { machine in
                _ = try await machine.waitForGuest(timeout: .seconds(120))
            }
        }
        #expect(error.message.contains("QEMU exited"))
        #expect(error.message.contains("Kernel panic"), "\(error.message.suffix(600))")
        #expect(Hallmark.leftoverQEMU(named: "hallmark-vmtest").isEmpty)
    }
}

extension EndToEndTests.VirtualMachineLayer {
    static func configuration(_ image: ImageArtifacts, commandLine: String) async throws -> MachineConfiguration {
        let home = SharedImages.home
        let runDirectory = try home.makeScratchDirectory(under: home.run, prefix: "t-")
        let overlay = runDirectory + "/overlay.qcow2"
        try await HostCommand("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.bootDisk.path, overlay]).run()
        return MachineConfiguration(
            name: "hallmark-vmtest", kernel: image.path("vmlinuz")!, initrd: image.path("initrd.img")!,
            kernelCommandLine: commandLine, disk: overlay, diskFormat: "qcow2", accelerator: .tcg,
            runDirectory: runDirectory, consoleLog: runDirectory + "/console.log")
    }
}
