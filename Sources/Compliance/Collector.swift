import Foundation
import HallmarkModel
import HallmarkSupport

/// Knows which probes each check needs and what each probe runs. `CollectorPlan` turns a set of
/// probes into the one script that runs in the guest.
public enum Collector {
    /// Where the pipeline stores the state `systemctl is-system-running --wait` settled on; boot
    /// health reports it. It is observed by the pipeline, not by the collector.
    public static let systemStateKey = "system-state"

    /// The probes the controls need (checks and `only_if` preconditions), without duplicates, in a stable order.
    public static func probes(for controls: [Control]) -> [Probe] {
        var probes: [Probe] = []
        var seen: Set<String> = []
        for control in controls {
            for probe in requiredProbes(control) where seen.insert(probe.key).inserted {
                probes.append(probe)
            }
        }
        return probes
    }

    /// The probes for `source`: a root filesystem gets only the static ones (files, packages,
    /// accounts, find, persisted sysctl, modprobe -n, sshd -T, non-runtime commands).
    public static func probes(for controls: [Control], source: Facts.Source) -> [Probe] {
        let all = probes(for: controls)
        return source == .rootfs ? split(all).image : all
    }

    /// Where each probe of a booted test runs: static probes against the disk artifact on the host
    /// (while the guest boots), runtime ones in the guest.
    public static func split(_ probes: [Probe]) -> (image: [Probe], guest: [Probe]) {
        (probes.filter { !$0.runtime }, probes.filter(\.runtime))
    }

    static func requiredProbes(_ control: Control) -> [Probe] {
        (control.onlyIf.map(requiredProbes) ?? []) + requiredProbes(control.check)
    }

    static func requiredProbes(_ check: Check) -> [Probe] {
        switch check {
        case .file(let file):
            let path = shellQuoted(file.path)
            var probes = [fileStat(file.path)]
            if file.sha256 != nil { probes.append(Probe(key: "sha256:\(file.path)", script: "sha256sum -- \(path)", execution: .subshell(cost: 1))) }
            if file.needsContent { probes.append(content(file.path)) }
            return probes
        case .package:
            return [packages]
        case .service(let service):
            return [Probe(key: "service:\(service.name)",
                          script: "echo \"enabled=$(systemctl is-enabled \(shellQuoted(service.name)) 2>/dev/null)\"; echo \"active=$(systemctl is-active \(shellQuoted(service.name)) 2>/dev/null)\"",
                          runtime: true, execution: .batched(.service(name: service.name)))]
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
            return [filesystemWalk(find.paths)]
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
            return [failedUnits]
        case .reboot:
            return []
        case .command(let command):
            return [Probe(key: "command:\(command.run)", script: command.run, runtime: command.runtime)]
        }
    }

    // MARK: Probes

    static func fileStat(_ path: String) -> Probe {
        Probe(key: "file:\(path)", script: "stat -c '%F|%U|%G|%a' -- \(shellQuoted(path))", execution: .batched(.stat(path: path)))
    }

    /// How much of a file the content checks read.
    static let contentLimit = 1_048_576
    /// The content probe's exit code when the file is longer than what it read (stderr says "truncated: …").
    static let contentTruncatedExitCode: Int32 = 3

    /// The first `contentLimit` bytes of the file; a longer file is reported as truncated, since
    /// a match may lie past what was read.
    static func content(_ path: String) -> Probe {
        let quoted = shellQuoted(path)
        return Probe(key: "content:\(path)", script: """
            head -c \(contentLimit) -- \(quoted) || exit
            hm_n=$(wc -c <\(quoted)) || exit
            [ "$hm_n" -le \(contentLimit) ] || { printf 'truncated: %s has %s bytes; the first \(contentLimit) were read\\n' \(quoted) "$hm_n" >&2; exit \(contentTruncatedExitCode); }
            """, execution: .subshell(cost: 2))
    }

    static let packages = Probe(key: "packages", script: "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'",
                                execution: .subshell(cost: 6))
    static let passwd = Probe(key: "passwd", script: "hm_cat /etc/passwd", execution: .inline)
    static let group = Probe(key: "group", script: "hm_cat /etc/group", execution: .inline)
    static let emptyPasswords = Probe(key: "shadow-empty-passwords", script: "awk -F: '$2 == \"\" { print $1 }' /etc/shadow",
                                      execution: .subshell(cost: 1))
    static let loadedModules = Probe(key: "modules-loaded", script: "cat /proc/modules", runtime: true, execution: .subshell(cost: 1))
    static let mounts = Probe(key: "mounts", script: "hm_cat /proc/self/mounts", runtime: true, execution: .inline)
    static let failedUnits = Probe(key: "failed-units", script: "systemctl --failed --no-legend --plain --no-pager", runtime: true,
                                   execution: .subshell(cost: 4))
    /// Every socket table, with a heading each; a table the kernel lacks (IPv6 disabled) is
    /// named absent, and one that cannot be read fails the probe.
    static let sockets = Probe(key: "sockets", script: """
        hm_sr=0; for hm_f in tcp tcp6 udp udp6; do
          if [ -e /proc/net/$hm_f ]; then echo "== $hm_f"; hm_cat /proc/net/$hm_f || hm_sr=1; else echo "== $hm_f absent"; fi
        done; [ "$hm_sr" = 0 ]
        """, runtime: true, execution: .inline)

    static func liveSysctl(_ key: String) -> Probe {
        Probe(key: "sysctl:\(key)", script: "hm_cat \(shellQuoted("/proc/sys/" + key.replacingOccurrences(of: ".", with: "/")))",
              runtime: true, execution: .inline)
    }

    /// Every sysctl configuration file in the order systemd-sysctl and `sysctl --system` look at
    /// directories; evaluation picks the first file of each name and applies them by name, then /etc/sysctl.conf.
    static let sysctlConfiguration = Probe(key: "sysctl-config", script: """
        set --
        for hm_d in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
          for hm_f in "$hm_d"/*.conf; do [ -f "$hm_f" ] && set -- "$@" "$hm_f"; done
        done
        [ -f /etc/sysctl.conf ] && set -- "$@" /etc/sysctl.conf
        [ $# -eq 0 ] || tail -v -n +1 -- "$@"
        """, execution: .subshell(cost: 1))

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
        """, execution: .subshell(cost: 12))

    static func findKey(_ paths: [String]) -> String { "find:\(paths.joined(separator: ","))" }

    /// One walk of `paths` (without crossing filesystems) that lists, each as a NUL-terminated
    /// "TAG PATH" record (a file name may hold a newline, never a NUL), world-writable files,
    /// files whose owner or group has no entry in /etc/passwd or /etc/group, and set-uid/set-gid
    /// files, then an "end" record once find finished without an error. Errors go to stderr and
    /// fail the probe: a walk that did not happen proves nothing. Owners are compared by number
    /// against lists built from those files: `find -nouser` asks NSS once per file, which took
    /// 9 s on a TCG guest against 1.5 s. Files that vanish during the walk (other probes' scratch)
    /// are not errors.
    static func filesystemWalk(_ paths: [String]) -> Probe {
        Probe(key: findKey(paths), script: """
            hm_u=; hm_g=
            { while IFS=: read -r hm_n hm_x hm_id hm_r || [ -n "$hm_n" ]; do case $hm_id in ''|*[!0-9]*) ;; *) hm_u="$hm_u -o -uid $hm_id";; esac; hm_n=; done; } </etc/passwd || exit
            { while IFS=: read -r hm_n hm_x hm_id hm_r || [ -n "$hm_n" ]; do case $hm_id in ''|*[!0-9]*) ;; *) hm_g="$hm_g -o -gid $hm_id";; esac; hm_n=; done; } </etc/group || exit
            find \(paths.map(shellQuoted).joined(separator: " ")) -xdev -ignore_readdir_race \\
              \\( -type f -perm -0002 -printf 'world-writable %p\\0' \\) , \\
              \\( \\( ! \\( -false $hm_u \\) -o ! \\( -false $hm_g \\) \\) -printf 'unowned %p\\0' \\) , \\
              \\( -type f \\( -perm -4000 -o -perm -2000 \\) -printf 'setid %p\\0' \\) || exit
            printf 'end\\000'
            """, execution: .subshell(cost: 25))
    }

    /// What `modprobe -n -v` would do for the module against the running kernel (or, in a root
    /// filesystem, the newest installed one), whether it is built in, and whether modprobe exists.
    /// `hm_k` and `hm_builtin` come from the collector's prelude (`CollectorPlan.kernelPrelude`).
    static func kernelModule(_ name: String) -> Probe {
        let underscored = name.replacingOccurrences(of: "-", with: "_")
        let dashed = name.replacingOccurrences(of: "_", with: "-")
        return Probe(key: "kernel-module:\(name)", script: """
            if [ -z "$hm_k" ]; then
              set -- /lib/modules/*
              if [ -e "$1" ]; then echo "cannot tell which kernel's modules to read" >&2; exit 1; fi
              echo "modules=none"; exit 0
            fi
            echo "kernel=$hm_k"
            case $hm_builtin in *\(shellQuoted("/\(underscored).ko"))*|*\(shellQuoted("/\(dashed).ko"))*) echo "builtin=yes";; esac
            if command -v modprobe >/dev/null 2>&1; then
              modprobe -n -v -S "$hm_k" \(shellQuoted(name)) 2>&1; echo "modprobe-exit=$?"
            else
              echo "modprobe=absent"
              hm_files=$(find "/lib/modules/$hm_k" \\( -name '\(underscored).ko*' -o -name '\(dashed).ko*' \\) -print); hm_rc=$?
              printf '%s\\n' "$hm_files" | while IFS= read -r hm_l; do [ -z "$hm_l" ] || printf 'file=%s\\n' "$hm_l"; done
              echo "find-exit=$hm_rc"
            fi
            true
            """, execution: .subshell(cost: 2))
    }
}
