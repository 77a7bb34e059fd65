import Foundation

/// Where one boot's time went, as the guest's own systemd measured it (`systemd-analyze time`,
/// `blame`), next to the host's view of the same boot (QEMU start to the guest channel's answer).
public struct BootProfile: Codable, Sendable, Equatable {
    /// `boot` for the first boot, `reboot` for the one after the guest rebooted.
    public var boot: String
    /// The kernel until it ran the initramfs's /init, then the initramfs until the switch to the root.
    public var kernelSeconds: Double?
    public var initrdSeconds: Double?
    /// From the switch to the root until systemd's default target was reached.
    public var userspaceSeconds: Double?
    /// QEMU's start (or the reboot request) until the guest channel answered, measured by the host.
    public var agentSeconds: Double?
    /// The units that took longest to start, slowest first.
    public var slowestUnits: [UnitTime]

    public struct UnitTime: Codable, Sendable, Equatable {
        public var unit: String
        public var seconds: Double

        public init(unit: String, seconds: Double) { (self.unit, self.seconds) = (unit, seconds) }
    }

    public init(
        boot: String, kernelSeconds: Double? = nil, initrdSeconds: Double? = nil, userspaceSeconds: Double? = nil,
        agentSeconds: Double? = nil, slowestUnits: [UnitTime] = []
    ) {
        self.boot = boot
        self.kernelSeconds = kernelSeconds
        self.initrdSeconds = initrdSeconds
        self.userspaceSeconds = userspaceSeconds
        self.agentSeconds = agentSeconds
        self.slowestUnits = slowestUnits
    }

    /// How many of `blame`'s units a profile keeps.
    public static let unitLimit = 10

    /// The guest command whose output `parse` reads: `time`'s line, a separator, then `blame`.
    public static let guestCommand =
        "systemd-analyze time --no-pager; echo \(separator); systemd-analyze blame --no-pager | head -n \(unitLimit)"
    static let separator = "--hallmark-blame--"

    /// Reads `guestCommand`'s output; what it cannot read stays nil or empty (a guest still booting
    /// has no `time` line yet), so a profile never invents a figure.
    public static func parse(_ output: String, boot: String, agentSeconds: Double?) -> BootProfile {
        var profile = BootProfile(boot: boot, agentSeconds: agentSeconds)
        let parts = output.components(separatedBy: separator)
        // "Startup finished in 2.262s (kernel) + 3.105s (initrd) + 15.315s (userspace) = 20.683s"
        if let line = parts.first?.split(separator: "\n").first(where: { $0.hasPrefix("Startup finished in ") }) {
            let body = line.dropFirst("Startup finished in ".count).split(separator: "=").first ?? ""
            for term in body.split(separator: "+") {
                let words = term.trimmingCharacters(in: .whitespaces)
                guard let open = words.lastIndex(of: "("), words.hasSuffix(")") else { continue }
                let phase = words[words.index(after: open)..<words.index(before: words.endIndex)]
                let seconds = Self.seconds(String(words[..<open]))
                switch phase {
                case "kernel": profile.kernelSeconds = seconds
                case "initrd": profile.initrdSeconds = seconds
                case "userspace": profile.userspaceSeconds = seconds
                default: break
                }
            }
        }
        // "  6.301s e2scrub_reap.service", "1min 2.001s slow.service"
        if parts.count > 1 {
            for line in parts[1].split(separator: "\n") {
                let words = line.split(separator: " ").map(String.init)
                guard let unit = words.last, words.count >= 2,
                    let seconds = Self.seconds(words.dropLast().joined(separator: " "))
                else { continue }
                profile.slowestUnits.append(UnitTime(unit: unit, seconds: seconds))
            }
            profile.slowestUnits = Array(profile.slowestUnits.sorted { $0.seconds > $1.seconds }.prefix(unitLimit))
        }
        return profile
    }

    /// systemd's time spans: "740ms", "15.315s", "1min 2.001s", "1h 2min 3s", "900us".
    static func seconds(_ text: String) -> Double? {
        let units: [(suffix: String, factor: Double)] = [
            ("min", 60), ("ms", 0.001), ("us", 0.000_001), ("µs", 0.000_001), ("h", 3600), ("s", 1),
        ]
        var total = 0.0
        let words = text.split(separator: " ")
        guard !words.isEmpty else { return nil }
        for word in words {
            guard let unit = units.first(where: { word.hasSuffix($0.suffix) }),
                let value = Double(word.dropLast(unit.suffix.count))
            else { return nil }
            total += value * unit.factor
        }
        return total
    }

    /// One line for summary.md: each boot's agent time and split, and its slowest unit.
    public var summaryLine: String {
        var parts: [String] = []
        func format(_ seconds: Double) -> String { String(format: "%.1f s", seconds) }
        if let agentSeconds { parts.append("agent in \(format(agentSeconds))") }
        let phases = [("kernel", kernelSeconds), ("initrd", initrdSeconds), ("userspace", userspaceSeconds)]
            .compactMap { name, seconds in seconds.map { "\(name) \(format($0))" } }
        if !phases.isEmpty { parts.append(phases.joined(separator: " + ")) }
        if let slowest = slowestUnits.first { parts.append("slowest unit \(slowest.unit) \(format(slowest.seconds))") }
        return "\(boot): " + (parts.isEmpty ? "no profile" : parts.joined(separator: ", "))
    }
}
