import Foundation
import HallmarkModel
import HallmarkSupport

/// One read-only command the collector runs in the guest, identified by what it observes.
public struct Probe: Hashable, Sendable {
    /// Stable identity, e.g. `file:/etc/shadow`; facts are stored under it.
    public let key: String
    /// POSIX sh run inside the guest.
    public let script: String
}

/// What a probe printed.
public struct ProbeOutput: Codable, Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String

    public init(exitCode: Int32, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The outcome of the reboot test, observed by the pipeline (not by a probe).
public struct RebootFact: Codable, Sendable, Equatable {
    public var bootIDBefore: String
    public var bootIDAfter: String?
    /// Seconds from the reboot request until the guest answered again.
    public var secondsToReturn: Double?
    /// Why the guest did not come back, when it did not.
    public var failure: String?

    public init(bootIDBefore: String, bootIDAfter: String?, secondsToReturn: Double?, failure: String?) {
        self.bootIDBefore = bootIDBefore
        self.bootIDAfter = bootIDAfter
        self.secondsToReturn = secondsToReturn
        self.failure = failure
    }
}

/// Everything observed in one boot: the raw evidence that evaluation reads and `facts.json` keeps.
public struct Facts: Codable, Sendable, Equatable {
    public var probes: [String: ProbeOutput]
    /// nil when the recipe did not ask for a reboot test.
    public var reboot: RebootFact?

    public init(probes: [String: ProbeOutput] = [:], reboot: RebootFact? = nil) {
        self.probes = probes
        self.reboot = reboot
    }
}

/// Builds the single collector script for a set of controls and reads its output back.
public enum Collector {
    /// Waits for systemd to settle first, so boot health and service states are final.
    static let systemState = Probe(key: "system-state", script: "timeout 120 systemctl is-system-running --wait")

    /// The probes the controls need, without duplicates, in a stable order.
    public static func probes(for controls: [Control]) -> [Probe] {
        var probes: [Probe] = [systemState]
        for control in controls {
            for probe in requiredProbes(control.check) where !probes.contains(probe) {
                probes.append(probe)
            }
        }
        return probes
    }

    /// One shell script that runs every probe and prints one line per probe:
    /// `index exit-code base64(stdout) base64(stderr)`, so any output survives the framing.
    public static func script(for probes: [Probe]) -> String {
        var lines = [
            "hm_dir=$(mktemp -d) || exit 97",
            "hm_run() {",
            "  ( eval \"$2\" ) >\"$hm_dir/out\" 2>\"$hm_dir/err\" </dev/null",
            "  hm_rc=$?",
            "  printf '%s %s %s %s\\n' \"$1\" \"$hm_rc\" \"$(base64 -w0 <\"$hm_dir/out\")\" \"$(base64 -w0 <\"$hm_dir/err\")\"",
            "}",
        ]
        for (index, probe) in probes.enumerated() {
            lines.append("hm_run \(index) \(shellQuoted(probe.script))")
        }
        lines.append("rm -rf \"$hm_dir\"")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Parses the collector's output; a probe with no line (the script died) is an error.
    public static func parse(_ output: String, probes: [Probe]) throws -> [String: ProbeOutput] {
        var results: [String: ProbeOutput] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 4, let index = Int(fields[0]), probes.indices.contains(index), let code = Int32(fields[1]),
                  let out = Data(base64Encoded: String(fields[2])), let err = Data(base64Encoded: String(fields[3])) else {
                throw HallmarkError.infrastructure("unexpected line from the fact collector: \(line.prefix(200))")
            }
            results[probes[index].key] = ProbeOutput(
                exitCode: code, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
        }
        if let missing = probes.first(where: { results[$0.key] == nil }) {
            throw HallmarkError.infrastructure("the fact collector stopped before probe '\(missing.key)'")
        }
        return results
    }

    static func requiredProbes(_ check: Check) -> [Probe] {
        switch check {
        case .file(let file):
            let path = shellQuoted(file.path)
            var probes = [Probe(key: "file:\(file.path)", script: "stat -c '%F|%U|%G|%a' -- \(path)")]
            if file.sha256 != nil { probes.append(Probe(key: "sha256:\(file.path)", script: "sha256sum -- \(path)")) }
            if file.needsContent { probes.append(Probe(key: "content:\(file.path)", script: "head -c 1048576 -- \(path)")) }
            return probes
        case .package:
            return [packages]
        case .service(let service):
            let name = shellQuoted(service.name)
            return [Probe(key: "service:\(service.name)",
                          script: "echo \"enabled=$(systemctl is-enabled \(name) 2>/dev/null)\"; echo \"active=$(systemctl is-active \(name) 2>/dev/null)\"")]
        case .sysctl(let sysctl):
            return [Probe(key: "sysctl:\(sysctl.key)", script: "cat -- \(shellQuoted("/proc/sys/" + sysctl.key.replacingOccurrences(of: ".", with: "/")))")]
        case .sshd:
            return [Probe(key: "sshd", script: "sshd -T")]
        case .accounts:
            return [Probe(key: "passwd", script: "cat /etc/passwd"),
                    Probe(key: "shadow-empty-passwords", script: "awk -F: '$2 == \"\" { print $1 }' /etc/shadow")]
        case .find(let find):
            let paths = find.paths.map(shellQuoted).joined(separator: " ")
            return [Probe(key: "world-writable:\(find.paths.joined(separator: ","))",
                          script: "find \(paths) -xdev -type f -perm -0002 -print 2>/dev/null; true")]
        case .bootHealth:
            return [Probe(key: "failed-units", script: "systemctl --failed --no-legend --plain --no-pager")]
        case .reboot:
            return []
        case .command(let command):
            return [Probe(key: "command:\(command.run)", script: command.run)]
        }
    }

    static let packages = Probe(key: "packages", script: "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'")
}
