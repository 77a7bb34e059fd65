import GuestChannel
import HallmarkSupport
import Testing

@testable import VirtualMachine

/// The QEMU argv as built from a configuration: what confines the untrusted guest, what it boots
/// from, where its sockets are. Nothing is started.
@Suite struct QEMUCommandLineTests {
    static func configuration(
        accelerator: Accelerator = .tcg, channel: GuestChannelChoice = .auto,
        runDirectory: String = "/run/hm/R1", disk: String = "/run/hm/R1/overlay.qcow2"
    ) -> MachineConfiguration {
        MachineConfiguration(
            name: "hallmark-web", kernel: "/images/web/vmlinuz", initrd: "/images/web/initrd.img",
            kernelCommandLine: "root=/dev/vda rw console=ttyS0", disk: disk, diskFormat: "qcow2",
            memoryMiB: 1536, cpus: 3, accelerator: accelerator, runDirectory: runDirectory,
            consoleLog: "/reports/console.log", channel: channel)
    }

    /// Every value given after `flag`, in order (flags such as -chardev and -device repeat).
    static func values(of flag: String, in arguments: [String]) -> [String] {
        zip(arguments, arguments.dropFirst()).filter { $0.0 == flag }.map(\.1)
    }

    @Test func theGuestIsConfinedBySandboxAndRunas() {
        let arguments = Self.configuration().qemuCommand.arguments
        #expect(Self.values(of: "-runas", in: arguments) == ["nobody"])
        #expect(Self.values(of: "-sandbox", in: arguments) == ["on,obsolete=deny,spawn=deny,resourcecontrol=deny"])
        #expect(arguments.contains("-nodefaults") && arguments.contains("-no-user-config"))
        #expect(Self.values(of: "-display", in: arguments) == ["none"])
        // A guest reboot ends QEMU; VirtualMachine powers on a fresh process.
        #expect(arguments.contains("-no-reboot"))
    }

    @Test func qemuGetsNothingOfHallmarksEnvironment() {
        let command = Self.configuration().qemuCommand
        #expect(command.executable == "qemu-system-x86_64")
        #expect(!command.inheritsEnvironment)
        #expect(command.environment == ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"])
    }

    @Test func machineSizeAndAcceleratorFollowTheConfiguration() {
        let tcg = Self.configuration(accelerator: .tcg).qemuCommand.arguments
        #expect(Self.values(of: "-accel", in: tcg) == ["tcg,thread=multi"])
        #expect(Self.values(of: "-cpu", in: tcg) == ["max"])
        #expect(Self.values(of: "-m", in: tcg) == ["1536"])
        #expect(Self.values(of: "-smp", in: tcg) == ["3"])
        #expect(Self.values(of: "-machine", in: tcg) == ["q35"])
        #expect(Self.values(of: "-name", in: tcg) == ["hallmark-web"])

        let kvm = Self.configuration(accelerator: .kvm).qemuCommand.arguments
        #expect(Self.values(of: "-accel", in: kvm) == ["kvm"])
        #expect(Self.values(of: "-cpu", in: kvm) == ["host"])
    }

    @Test func bootsTheImagesKernelFromTheOverlay() {
        let arguments = Self.configuration().qemuCommand.arguments
        #expect(Self.values(of: "-kernel", in: arguments) == ["/images/web/vmlinuz"])
        #expect(Self.values(of: "-initrd", in: arguments) == ["/images/web/initrd.img"])
        #expect(Self.values(of: "-drive", in: arguments) == ["file=/run/hm/R1/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe"])
        #expect(Self.values(of: "-device", in: arguments).contains("virtio-rng-pci"))
    }

    @Test func commasInPathsAreDoubled() {
        let arguments = Self.configuration(runDirectory: "/run/a,b", disk: "/run/a,b/overlay.qcow2").qemuCommand.arguments
        #expect(Self.values(of: "-drive", in: arguments) == ["file=/run/a,,b/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe"])
        #expect(Self.values(of: "-chardev", in: arguments).contains("socket,id=qga0,path=/run/a,,b/qga.sock,server=on,wait=off"))
    }

    @Test func serialConsoleIsAppendedToTheConsoleLog() {
        let arguments = Self.configuration().qemuCommand.arguments
        #expect(Self.values(of: "-chardev", in: arguments).contains("file,id=console0,path=/reports/console.log,append=on"))
        #expect(Self.values(of: "-serial", in: arguments) == ["chardev:console0"])
    }

    @Test func socketsLiveInTheRunDirectory() {
        let configuration = Self.configuration()
        let arguments = configuration.qemuCommand.arguments
        #expect(configuration.qmpSocket == "/run/hm/R1/qmp.sock")
        #expect(configuration.qemuLog == "/run/hm/R1/qemu.log")
        #expect(Self.values(of: "-qmp", in: arguments) == ["unix:/run/hm/R1/qmp.sock,server=on,wait=off"])
        let chardevs = Self.values(of: "-chardev", in: arguments)
        #expect(chardevs.contains("socket,id=qga0,path=/run/hm/R1/qga.sock,server=on,wait=off"))
        let devices = Self.values(of: "-device", in: arguments)
        #expect(devices.contains("virtio-serial-pci"))
        #expect(devices.contains("virtserialport,chardev=qga0,name=org.qemu.guest_agent.0"))
    }

    @Test func theConsoleShellPortExistsUnlessOnlyTheAgentIsAllowed() {
        for channel in [GuestChannelChoice.auto, .console] {
            let configuration = Self.configuration(channel: channel)
            let arguments = configuration.qemuCommand.arguments
            #expect(Self.values(of: "-chardev", in: arguments).contains("socket,id=shell0,path=/run/hm/R1/shell.sock,server=on,wait=off"))
            #expect(Self.values(of: "-device", in: arguments).contains("virtserialport,chardev=shell0,name=org.hallmark.shell.0"))
            // The guest's launcher for the shell rides on the image's own command line.
            let append = Self.values(of: "-append", in: arguments)
            #expect(
                append.count == 1 && append[0].hasPrefix("root=/dev/vda rw console=ttyS0") && append[0].contains("org.hallmark.shell.0"))
        }
        let agentOnly = Self.configuration(channel: .agent).qemuCommand.arguments
        #expect(!agentOnly.contains { $0.contains("shell0") })
        #expect(Self.values(of: "-append", in: agentOnly) == ["root=/dev/vda rw console=ttyS0"])
    }
}
