import Foundation
import HallmarkModel
import HallmarkSupport

/// One read-only command the collector runs in the guest, identified by what it observes.
public struct Probe: Hashable, Sendable {
    /// Stable identity, e.g. `file:/etc/shadow`; facts are stored under it.
    public let key: String
    /// POSIX sh run inside the guest.
    public let script: String
    /// Observes the running system (live kernel values, services, mounts, sockets): it cannot be
    /// collected from an unpacked root filesystem.
    public let runtime: Bool

    public init(key: String, script: String, runtime: Bool = false) {
        self.key = key
        self.script = script
        self.runtime = runtime
    }
}

/// What a probe printed.
public typealias ProbeOutput = CommandOutput

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
    /// Where facts came from: a booted guest, or an unpacked root filesystem (static probes only).
    public enum Source: String, Codable, Sendable {
        case guest, rootfs
    }

    public var probes: [String: ProbeOutput]
    /// nil when the recipe did not ask for a reboot test.
    public var reboot: RebootFact?
    /// nil (older facts.json) means a guest.
    public var source: Source?

    public init(probes: [String: ProbeOutput] = [:], reboot: RebootFact? = nil, source: Source? = nil) {
        self.probes = probes
        self.reboot = reboot
        self.source = source
    }
}

/// Builds the single collector script for a set of controls and reads its output back.
public enum Collector {
    /// Waits for systemd to settle first, so boot health and service states are final.
    static let systemState = Probe(key: "system-state", script: "timeout 120 systemctl is-system-running --wait", runtime: true)

    /// The probes the controls need (checks and `only_if` preconditions), without duplicates, in a stable order.
    public static func probes(for controls: [Control]) -> [Probe] {
        var probes: [Probe] = [systemState]
        for control in controls {
            for probe in requiredProbes(control) where !probes.contains(probe) {
                probes.append(probe)
            }
        }
        return probes
    }

    /// The probes for `source`: a root filesystem gets only the static ones (files, packages,
    /// accounts, find, persisted sysctl, modprobe -n, sshd -T, non-runtime commands).
    public static func probes(for controls: [Control], source: Facts.Source) -> [Probe] {
        let all = probes(for: controls)
        return source == .rootfs ? all.filter { !$0.runtime } : all
    }

    static func requiredProbes(_ control: Control) -> [Probe] {
        (control.onlyIf.map(requiredProbes) ?? []) + requiredProbes(control.check)
    }

    /// One shell script that runs every probe and prints one line per probe:
    /// `index exit-code base64(stdout) base64(stderr)`, so any output survives the framing.
    public static func script(for probes: [Probe]) -> String {
        var lines = [
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH",
            "export PATH",
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
                          script: "echo \"enabled=$(systemctl is-enabled \(name) 2>/dev/null)\"; echo \"active=$(systemctl is-active \(name) 2>/dev/null)\"",
                          runtime: true)]
        case .sysctl(let sysctl):
            var probes: [Probe] = []
            if sysctl.live { probes.append(liveSysctl(sysctl.key)) }
            if sysctl.persisted { probes.append(sysctlConfiguration) }
            return probes
        case .sshd:
            return [sshd]
        case .accounts(let accounts):
            var probes: [Probe] = []
            if accounts.readsPasswd { probes.append(passwd) }
            if accounts.readsGroup { probes.append(group) }
            if accounts.noEmptyPasswords { probes.append(emptyPasswords) }
            return probes
        case .find(let find):
            var probes: [Probe] = []
            if find.worldWritable != nil { probes.append(worldWritable(find.paths)) }
            if find.unowned != nil { probes.append(unowned(find.paths)) }
            if find.suidAllowed != nil { probes.append(setID(find.paths)) }
            return probes
        case .kernelModule(let module):
            var probes: [Probe] = []
            if module.loadable != nil { probes.append(kernelModule(module.name)) }
            if module.loaded != nil || module.loadable == false { probes.append(loadedModules) }
            return probes
        case .mount:
            return [mounts]
        case .port:
            return [sockets]
        case .user:
            return [passwd]
        case .group:
            return [group]
        case .bootHealth:
            return [Probe(key: "failed-units", script: "systemctl --failed --no-legend --plain --no-pager", runtime: true)]
        case .reboot:
            return []
        case .command(let command):
            return [Probe(key: "command:\(command.run)", script: command.run, runtime: command.runtime)]
        }
    }

    // MARK: Probes

    static let packages = Probe(key: "packages", script: "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'")
    static let passwd = Probe(key: "passwd", script: "cat /etc/passwd")
    static let group = Probe(key: "group", script: "cat /etc/group")
    static let emptyPasswords = Probe(key: "shadow-empty-passwords", script: "awk -F: '$2 == \"\" { print $1 }' /etc/shadow")
    static let loadedModules = Probe(key: "modules-loaded", script: "cat /proc/modules", runtime: true)
    static let mounts = Probe(key: "mounts", script: "cat /proc/self/mounts", runtime: true)
    static let sockets = Probe(key: "sockets", script: """
        for hm_f in tcp tcp6 udp udp6; do [ -r /proc/net/$hm_f ] || continue; echo "== $hm_f"; cat /proc/net/$hm_f; done
        """, runtime: true)

    static func liveSysctl(_ key: String) -> Probe {
        Probe(key: "sysctl:\(key)", script: "cat -- \(shellQuoted("/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")))", runtime: true)
    }

    /// Every sysctl configuration file in the order systemd-sysctl and `sysctl --system` look at
    /// directories; evaluation picks the first file of each name and applies them by name, then /etc/sysctl.conf.
    static let sysctlConfiguration = Probe(key: "sysctl-config", script: """
        for hm_d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
          for hm_f in "$hm_d"/*.conf; do [ -f "$hm_f" ] || continue; echo "==> $hm_f"; cat -- "$hm_f"; echo; done
        done
        if [ -f /etc/sysctl.conf ]; then echo "==> /etc/sysctl.conf"; cat /etc/sysctl.conf; echo; fi
        true
        """)

    /// `sshd -T`; when sshd refuses because the image has no host keys (as a clean image should) or
    /// no /run/sshd (a root filesystem), it is retried with a throw-away key.
    static let sshd = Probe(key: "sshd", script: """
        hm_out=$(sshd -T 2>&1) && { printf '%s\\n' "$hm_out"; exit 0; }
        case $hm_out in *"no hostkeys"*|*"privilege separation directory"*) ;; *) printf '%s\\n' "$hm_out" >&2; exit 1;; esac
        hm_k=$(mktemp -d) || exit 1
        if ! ssh-keygen -q -t ed25519 -N '' -f "$hm_k/key" >/dev/null 2>&1; then rm -rf "$hm_k"; printf '%s\\n' "$hm_out" >&2; exit 1; fi
        hm_made=; [ -d /run/sshd ] || { mkdir -p /run/sshd && hm_made=1; }
        sshd -T -h "$hm_k/key"; hm_rc=$?
        [ -n "$hm_made" ] && rmdir /run/sshd
        rm -rf "$hm_k"; exit $hm_rc
        """)

    static func findKey(_ prefix: String, _ paths: [String]) -> String { "\(prefix):\(paths.joined(separator: ","))" }

    static func worldWritable(_ paths: [String]) -> Probe {
        Probe(key: findKey("world-writable", paths),
              script: "find \(paths.map(shellQuoted).joined(separator: " ")) -xdev -type f -perm -0002 -print 2>/dev/null; true")
    }

    static func unowned(_ paths: [String]) -> Probe {
        Probe(key: findKey("unowned", paths),
              script: "find \(paths.map(shellQuoted).joined(separator: " ")) -xdev \\( -nouser -o -nogroup \\) -print 2>/dev/null; true")
    }

    static func setID(_ paths: [String]) -> Probe {
        Probe(key: findKey("suid", paths),
              script: "find \(paths.map(shellQuoted).joined(separator: " ")) -xdev -type f \\( -perm -4000 -o -perm -2000 \\) -print 2>/dev/null; true")
    }

    /// What `modprobe -n -v` would do for the module against the running kernel (or, in a root
    /// filesystem, the newest installed one), whether it is built in, and whether modprobe exists.
    static func kernelModule(_ name: String) -> Probe {
        let underscored = name.replacingOccurrences(of: "-", with: "_")
        let dashed = name.replacingOccurrences(of: "_", with: "-")
        return Probe(key: "kernel-module:\(name)", script: """
            hm_k=$(uname -r)
            [ -d "/lib/modules/$hm_k" ] || hm_k=$(ls -1 /lib/modules 2>/dev/null | sort -V | tail -n 1)
            if [ -z "$hm_k" ]; then echo "modules=none"; exit 0; fi
            echo "kernel=$hm_k"
            if grep -Eq '/(\(underscored)|\(dashed))\\.ko' "/lib/modules/$hm_k/modules.builtin" 2>/dev/null; then echo "builtin=yes"; fi
            if command -v modprobe >/dev/null 2>&1; then
              modprobe -n -v -S "$hm_k" \(shellQuoted(name)) 2>&1; echo "modprobe-exit=$?"
            else
              echo "modprobe=absent"
              find "/lib/modules/$hm_k" \\( -name '\(underscored).ko*' -o -name '\(dashed).ko*' \\) -print 2>/dev/null | sed 's/^/file=/'
            fi
            true
            """)
    }
}
