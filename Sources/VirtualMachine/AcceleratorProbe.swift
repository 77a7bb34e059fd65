import Foundation
import HallmarkSupport

/// Chooses the accelerator. `auto` trusts KVM only after a real tiny guest printed its first
/// kernel line under KVM within a short deadline: /dev/kvm can exist while KVM guests hang.
public struct AcceleratorProbe: Sendable {
    public enum Choice: String, Sendable, CaseIterable {
        case auto, kvm, tcg
    }

    public var home: HallmarkHome
    public var console: Console

    public init(home: HallmarkHome, console: Console) {
        self.home = home
        self.console = console
    }

    static let deadline = Duration.seconds(6)

    /// Resolves the choice; `kernel` is a kernel the probe may boot.
    public func resolve(_ choice: Choice, kernel: String) async throws -> Accelerator {
        switch choice {
        case .tcg: return .tcg
        case .kvm:
            guard access("/dev/kvm", R_OK | W_OK) == 0 else {
                throw HallmarkError(.missingDependency, "--accel kvm was asked for, but /dev/kvm is not usable here")
            }
            return .kvm
        case .auto:
            let (works, reason) = try await kvmWorks(kernel: kernel)
            if works { return .kvm }
            console.warning("using TCG (software emulation, several times slower; timeouts scaled ×\(Int(Accelerator.tcg.timeoutScale))): \(reason)")
            return .tcg
        }
    }

    /// Whether KVM runs a guest here, remembered per host kernel and QEMU binary.
    func kvmWorks(kernel: String) async throws -> (Bool, String) {
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return (false, "/dev/kvm is missing or not accessible") }
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let qemu = try HostTool.qemu.resolve()
        let qemuStamp = (try? FileManager.default.attributesOfItem(atPath: qemu)[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let cacheFile = home.hostCache + "/kvm-\(Digest.sha256("\(release)|\(qemu)|\(qemuStamp)").prefix(16)).json"
        if let data = FileManager.default.contents(atPath: cacheFile),
           let cached = try? JSONDecoder().decode(CachedProbe.self, from: data) {
            return (cached.works, cached.reason + " (cached from an earlier probe)")
        }
        let result = try await probe(kernel: kernel)
        try? FileManager.default.createDirectory(atPath: home.hostCache, withIntermediateDirectories: true)
        try? JSONEncoder().encode(CachedProbe(works: result.0, reason: result.1)).write(to: URL(fileURLWithPath: cacheFile))
        return result
    }

    struct CachedProbe: Codable {
        var works: Bool
        var reason: String
    }

    private func probe(kernel: String) async throws -> (Bool, String) {
        let directory = try home.makeScratchDirectory(under: home.run, prefix: "kvm-")
        ChildRegistry.shared.addDirectory(directory)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            ChildRegistry.shared.removeDirectory(directory)
        }
        let serial = directory + "/console.log"
        let command = HostCommand("qemu-system-x86_64", [
            "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-kernel", kernel, "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1",
            "-serial", "file:\(serial)",
        ])
        let process = try ChildProcess.spawn(command, outputPath: directory + "/qemu.log")
        let start = ContinuousClock.now
        while ContinuousClock.now - start < Self.deadline {
            if let text = try? String(contentsOfFile: serial, encoding: .utf8), text.contains("Linux version") {
                await process.terminate(grace: .milliseconds(500))
                return (true, "a KVM guest printed its kernel banner in \((ContinuousClock.now - start).formattedSeconds)")
            }
            if process.reap() != nil {
                let log = (try? String(contentsOfFile: directory + "/qemu.log", encoding: .utf8)) ?? ""
                return (false, "QEMU could not start a KVM guest: \(log.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))")
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                await process.terminate(grace: .milliseconds(500))
                throw error
            }
        }
        await process.terminate(grace: .milliseconds(500))
        return (false, "a KVM test guest printed nothing within \(Self.deadline.formattedSeconds) (KVM guests hang on this host)")
    }
}
