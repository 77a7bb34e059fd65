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
                throw HallmarkError(.missingTool, "--accel kvm was asked for, but /dev/kvm is not usable here")
            }
            return .kvm
        case .auto:
            let (works, reason) = try await kvmWorks(kernel: kernel)
            if works { return .kvm }
            console.warning(
                "\(reason); using TCG (software emulation, several times slower; timeouts scaled ×\(Int(Accelerator.tcg.timeoutScale)))")
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
        let bootID = Self.bootID()
        if let data = FileManager.default.contents(atPath: cacheFile),
            let cached = try? JSONDecoder().decode(CachedProbe.self, from: data),
            cached.isReusable(bootID: bootID, now: Date())
        {
            return (cached.works, cached.reason + " (cached from an earlier probe)")
        }
        let result = try await probe(kernel: kernel)
        try? FileManager.default.createDirectory(atPath: home.hostCache, withIntermediateDirectories: true)
        let entry = CachedProbe(works: result.0, reason: result.1, bootID: bootID, probedAt: Date())
        try? JSONEncoder().encode(entry).write(to: URL(fileURLWithPath: cacheFile))
        return result
    }

    /// This boot of the host: a reboot may have fixed (or broken) KVM.
    static func bootID() -> String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct CachedProbe: Codable {
        var works: Bool
        var reason: String
        /// nil in entries written before failures expired.
        var bootID: String?
        var probedAt: Date?

        /// How long a failed probe is believed: a module loaded or a setting fixed later must
        /// not leave every run on TCG for good.
        static let failureLifetime: TimeInterval = 24 * 3600

        /// A success holds for this kernel and QEMU binary (the cache key); a failure only
        /// within the same boot and for a day.
        func isReusable(bootID: String?, now: Date) -> Bool {
            if works { return true }
            guard let probedAt, let recorded = self.bootID, recorded == bootID else { return false }
            return now.timeIntervalSince(probedAt) < Self.failureLifetime && now >= probedAt
        }
    }

    private func probe(kernel: String) async throws -> (Bool, String) {
        let directory = try home.makeScratchDirectory(under: home.run, prefix: "kvm-")
        ChildRegistry.shared.addDirectory(directory)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            ChildRegistry.shared.removeDirectory(directory)
        }
        let serial = directory + "/console.log"
        let command = HostCommand(
            "qemu-system-x86_64",
            [
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
            if process.termination != nil {
                let log = (try? String(contentsOfFile: directory + "/qemu.log", encoding: .utf8)) ?? ""
                return (false, Self.summarizeFailure(qemuLog: log))
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

    /// QEMU's own words on why a KVM guest did not start, cut to its first error: its log may end
    /// in an assertion (`kvm_buf_set_msrs: Assertion … failed`) that reads like Hallmark crashing.
    static func summarizeFailure(qemuLog log: String) -> String {
        let lines = log.split(whereSeparator: \.isNewline).map { line in
            var text = line.trimmingCharacters(in: .whitespaces)
            // "qemu-system-x86_64: error: failed to set MSR …" → "failed to set MSR …"
            for prefix in ["qemu-system-x86_64:", "error:"] where text.hasPrefix(prefix) {
                text = text.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)
            }
            return text
        }
        let isAssertion = { (line: String) in line.contains("Assertion") || line.contains(".c:") }
        let cause =
            lines.first { !$0.isEmpty && !isAssertion($0) } ?? (lines.contains(where: isAssertion) ? "it stopped on an internal check" : "")
        let detail = cause.isEmpty ? "" : " (\(cause.count > 120 ? cause.prefix(119) + "…" : cause))"
        return "KVM is present but QEMU could not start a guest with it\(detail)"
    }
}
