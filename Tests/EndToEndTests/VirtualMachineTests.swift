import Foundation
import HallmarkSupport
import ImageBuild
import ImageStore
import Testing
import VirtualMachine

/// The VM layer against real QEMU: a guest without a working agent must fail within its timeout,
/// naming what was awaited and showing the console, and leave nothing running.
@Suite(.serialized) struct VirtualMachineTests {
    static let home = HallmarkHome(root: EndToEndTests.home)

    /// The newest e2e-minimal image, built first if the suite runs alone.
    static func image() async throws -> ImageArtifacts {
        if let image = try ImageStore(home: home).latest(name: "e2e-minimal", version: "1.0.0") { return image }
        let build = try await EndToEndTests.hallmark(["build", EndToEndTests.root + "/Tests/Fixtures/minimal.yaml"], reports: EndToEndTests.scratchReports())
        try #require(build.status == .exited(0), "\(build.output)")
        return try #require(try ImageStore(home: home).latest(name: "e2e-minimal", version: "1.0.0"))
    }

    static func configuration(_ image: ImageArtifacts, commandLine: String) async throws -> MachineConfiguration {
        let runDirectory = try home.makeScratchDirectory(under: home.run, prefix: "t-")
        let overlay = runDirectory + "/overlay.qcow2"
        try await HostCommand("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", image.bootDisk.path, overlay]).run()
        return MachineConfiguration(
            name: "hallmark-vmtest", kernel: image.path("vmlinuz")!, initrd: image.path("initrd.img")!,
            kernelCommandLine: commandLine, disk: overlay, diskFormat: "qcow2", accelerator: .tcg,
            runDirectory: runDirectory, consoleLog: runDirectory + "/console.log")
    }

    /// A kernel without virtio console support has neither channel: the agent's port and the
    /// console shell's are both virtio-serial ports.
    @Test func guestWithNeitherChannelFailsWithinItsTimeoutShowingTheConsole() async throws {
        let image = try await Self.image()
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
        #expect(error.message.contains("neither the guest agent (org.qemu.guest_agent.0) nor the console shell (org.hallmark.shell.0) answered within 30.0s"),
                "\(error.message.prefix(300))")
        #expect(error.message.contains("Last lines of the serial console"))
        #expect(!FileManager.default.fileExists(atPath: configuration.runDirectory))
        #expect(EndToEndTests.leftoverQEMU(named: "hallmark-vmtest").isEmpty)
    }

    /// `channel: agent` never falls back: a masked agent fails within the timeout, naming the agent.
    @Test func agentOnlyGuestWithAMaskedAgentFailsWithinItsTimeout() async throws {
        let image = try await Self.image()
        var configuration = try await Self.configuration(image, commandLine: image.kernelCommandLine + " systemd.mask=qemu-guest-agent.service")
        configuration.channel = .agent
        #expect(!configuration.qemuCommand.arguments.joined(separator: " ").contains("org.hallmark.shell.0"))
        let error = try await #require(throws: HallmarkError.self) {
            try await VirtualMachine.with(configuration) { machine in
                _ = try await machine.waitForGuest(timeout: .seconds(30))
            }
        }
        #expect(error.message.contains("guest agent (org.qemu.guest_agent.0) did not answer within 30.0s"), "\(error.message.prefix(300))")
        #expect(error.message.contains("Last lines of the serial console"))
        #expect(EndToEndTests.leftoverQEMU(named: "hallmark-vmtest").isEmpty)
    }

    @Test func qemuThatDiesEarlyIsReportedWithTheConsoleTail() async throws {
        let image = try await Self.image()
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
        #expect(EndToEndTests.leftoverQEMU(named: "hallmark-vmtest").isEmpty)
    }
}
