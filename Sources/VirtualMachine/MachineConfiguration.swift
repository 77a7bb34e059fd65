import ConsoleShell
import Foundation
import GuestChannel
import HallmarkSupport

/// The hardware accelerator a VM runs on.
public enum Accelerator: String, Sendable, Codable {
    case kvm, tcg

    /// Software emulation is several times slower; every guest timeout is scaled by this.
    public var timeoutScale: Double { self == .kvm ? 1 : 4 }
}

/// Everything needed to start one test VM, as a value: the QEMU argv is derived from it and can
/// be unit-tested without starting anything.
public struct MachineConfiguration: Sendable {
    public var name: String
    public var kernel: String
    public var initrd: String
    public var kernelCommandLine: String
    /// The throw-away overlay the guest writes to; the artifact behind it is never changed.
    public var disk: String
    public var diskFormat: String
    public var memoryMiB: Int
    public var cpus: Int
    public var accelerator: Accelerator
    /// Holds the QMP and guest agent sockets; keep its path short (Unix sockets allow 107 bytes).
    public var runDirectory: String
    public var consoleLog: String
    /// Which guest channels the VM gets: the agent's port always, the console shell unless `agent`.
    public var channel: GuestChannelChoice

    public init(
        name: String, kernel: String, initrd: String, kernelCommandLine: String, disk: String, diskFormat: String,
        memoryMiB: Int = 1024, cpus: Int = 2, accelerator: Accelerator, runDirectory: String, consoleLog: String,
        channel: GuestChannelChoice = .auto
    ) {
        self.name = name
        self.kernel = kernel
        self.initrd = initrd
        self.kernelCommandLine = kernelCommandLine
        self.disk = disk
        self.diskFormat = diskFormat
        self.memoryMiB = memoryMiB
        self.cpus = cpus
        self.accelerator = accelerator
        self.runDirectory = runDirectory
        self.consoleLog = consoleLog
        self.channel = channel
    }

    public var qmpSocket: String { Self.qmpSocket(in: runDirectory) }
    public var agentSocket: String { Self.agentSocket(in: runDirectory) }
    public var shellSocket: String { Self.shellSocket(in: runDirectory) }

    /// Where a run directory keeps its sockets; also how `hallmark shell` finds a kept VM's.
    static func qmpSocket(in runDirectory: String) -> String { runDirectory + "/qmp.sock" }
    static func agentSocket(in runDirectory: String) -> String { runDirectory + "/qga.sock" }
    static func shellSocket(in runDirectory: String) -> String { runDirectory + "/shell.sock" }
    public var qemuLog: String { runDirectory + "/qemu.log" }

    /// The guest agent's well-known virtio-serial port name; qemu-guest-agent's udev rule starts on it.
    public static let agentPortName = "org.qemu.guest_agent.0"

    /// The image's command line, plus the console shell's launcher when that channel may be used.
    public var effectiveKernelCommandLine: String {
        channel == .agent ? kernelCommandLine : ConsoleShellGuest.kernelCommandLine(kernelCommandLine)
    }

    public var qemuCommand: HostCommand {
        var arguments = [
            "-name", name,
            "-machine", "q35",
            "-accel", accelerator == .kvm ? "kvm" : "tcg,thread=multi",
            "-cpu", accelerator == .kvm ? "host" : "max",
            "-m", "\(memoryMiB)",
            "-smp", "\(cpus)",
            "-nodefaults", "-no-user-config", "-display", "none",
            // A guest reboot ends this process; VirtualMachine powers on a fresh one (see there).
            "-no-reboot",
            "-kernel", kernel, "-initrd", initrd, "-append", effectiveKernelCommandLine,
            // The overlay is thrown away, so write-back caching without flushes is safe and faster.
            "-drive", "file=\(escapeOption(disk)),if=virtio,format=\(diskFormat),cache=unsafe",
            "-device", "virtio-rng-pci",
            // A chardev file is appended to, so the console of every boot of one test stays in one log.
            "-chardev", "file,id=console0,path=\(escapeOption(consoleLog)),append=on",
            "-serial", "chardev:console0",
            "-qmp", "unix:\(qmpSocket),server=on,wait=off",
            "-chardev", "socket,id=qga0,path=\(escapeOption(agentSocket)),server=on,wait=off",
            "-device", "virtio-serial-pci",
            "-device", "virtserialport,chardev=qga0,name=\(Self.agentPortName)",
            // The guest is untrusted: should it break out into QEMU, QEMU has dropped root (every
            // file and socket is opened first) and may not spawn, gain privileges or use obsolete calls.
            "-runas", "nobody",
            "-sandbox", "on,obsolete=deny,spawn=deny,resourcecontrol=deny",
        ]
        if channel != .agent {
            arguments += [
                "-chardev", "socket,id=shell0,path=\(escapeOption(shellSocket)),server=on,wait=off",
                "-device", "virtserialport,chardev=shell0,name=\(ConsoleShellGuest.portName)",
            ]
        }
        // Nothing of Hallmark's environment (the signing key's path, CI tokens) is QEMU's business.
        return HostCommand(
            "qemu-system-x86_64", arguments, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"],
            inheritsEnvironment: false)
    }

    /// QEMU's option syntax doubles commas inside values.
    func escapeOption(_ value: String) -> String { value.replacingOccurrences(of: ",", with: ",,") }
}
