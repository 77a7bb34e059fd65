import Foundation
import HallmarkModel
import HallmarkSupport

/// A kernel module: whether modprobe could load it, whether it is loaded now.
public struct KernelModuleCheck: Resource {
    public var name: String
    /// `false`: `modprobe -n -v` must show it cannot be loaded (install /bin/false, /bin/true, or no module).
    public var loadable: Bool?
    /// `false`: not in /proc/modules now. Implied by `loadable: false`.
    public var loaded: Bool?

    public init(name: String, loadable: Bool? = nil, loaded: Bool? = nil) {
        self.name = name
        self.loadable = loadable
        self.loaded = loaded
    }

    public static let kind = ResourceKind.kernelModule

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["name", "loadable", "loaded"])
        let nameInput = try fields.required("name")
        let name = try nameInput.string()
        guard name.range(of: #"^[A-Za-z0-9_-]+$"#, options: .regularExpression) != nil else {
            throw nameInput.error("'\(name)' is not a kernel module name")
        }
        guard fields["loadable"] != nil || fields["loaded"] != nil else {
            throw body.error("kernel_module check needs 'loadable' or 'loaded'")
        }
        self.init(name: name, loadable: try fields["loadable"]?.bool(), loaded: try fields["loaded"]?.bool())
    }

    public var probes: [Probe] {
        var probes: [Probe] = []
        if loadable != nil { probes.append(Self.modprobe(name)) }
        if loaded != nil || loadable == false { probes.append(Self.loadedModules) }
        return probes
    }

    /// The rule notes a part whose fact was not collected (what is loaded, in a root filesystem).
    public var decidesWithMissingFacts: Bool { true }

    /// What `modprobe -n -v` would do for the module against the running kernel (or, in a root
    /// filesystem, the newest installed one), whether it is built in, and whether modprobe exists.
    /// `hm_k` and `hm_builtin` come from its prelude, which runs once for all of them.
    static func modprobe(_ name: String) -> Probe {
        let underscored = name.replacingOccurrences(of: "-", with: "_")
        let dashed = name.replacingOccurrences(of: "_", with: "-")
        return Probe(
            key: ProbeKey("kernel-module", name),
            script: """
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
                """, execution: .subshell(cost: 2), prelude: kernelPrelude)
    }

    /// The running kernel's release (or, in a root filesystem, the newest installed one) and its
    /// list of built-in modules, read once for every kernel-module probe.
    static let kernelPrelude = """
        hm_k=; [ -r /proc/sys/kernel/osrelease ] && read -r hm_k </proc/sys/kernel/osrelease
        [ -n "$hm_k" ] && [ -d "/lib/modules/$hm_k" ] || hm_k=$(ls -1 /lib/modules 2>/dev/null | sort -V | tail -n 1)
        hm_builtin=; [ -n "$hm_k" ] && [ -r "/lib/modules/$hm_k/modules.builtin" ] && hm_builtin=$(cat "/lib/modules/$hm_k/modules.builtin")
        """

    static let loadedModules = Probe(key: "modules-loaded", script: "cat /proc/modules", runtime: true, execution: .subshell(cost: 1))

    public func evaluate(_ facts: Facts) -> Outcome {
        let module = self
        var problems: [String] = [], evidence: [String] = [], notes: [String] = []
        var checked = 0
        if let wanted = module.loadable {
            let key = Self.modprobe(module.name).key
            if let fact = facts.probes[key] {
                checked += 1
                guard fact.exitCode == 0, let (loadable, why) = Self.modprobeVerdict(fact.stdout, name: module.name) else {
                    return Outcome(.error, "cannot tell whether \(module.name) can be loaded", excerpt(fact.stdout + fact.stderr))
                }
                evidence.append(why)
                if loadable != wanted {
                    problems.append(wanted ? "\(module.name) cannot be loaded: \(why)" : "\(module.name) can be loaded: \(why)")
                }
            } else {
                notes.append(facts.notCollected(Self.modprobe(module.name)))
            }
        }
        if let wanted = module.loaded ?? (module.loadable == false ? false : nil) {
            if let fact = facts.probes[Self.loadedModules.key] {
                checked += 1
                // No /proc/modules: the kernel was built without module support, so nothing is loaded.
                let noModuleSupport = fact.exitCode != 0 && fact.stderr.contains("No such file")
                guard fact.exitCode == 0 || noModuleSupport else {
                    return Outcome(.error, "cannot read /proc/modules", excerpt(fact.stderr))
                }
                let name = module.name.replacingOccurrences(of: "-", with: "_")
                let loaded = lines(fact.stdout).contains { $0.split(separator: " ").first.map(String.init) == name }
                evidence.append(
                    loaded
                        ? "\(module.name) is loaded (/proc/modules)"
                        : "\(module.name) is not loaded" + (noModuleSupport ? " (no /proc/modules: no module support)" : ""))
                if loaded != wanted { problems.append(wanted ? "\(module.name) is not loaded" : "\(module.name) is loaded right now") }
            } else {
                notes.append(
                    facts.source == .rootfs
                        ? "whether it is loaded is not observable in a root filesystem"
                        : "no fact '\(Self.loadedModules.key)' was collected")
            }
        }
        guard checked > 0 else { return Outcome(.notchecked, notes.joined(separator: "; "), "") }
        let note = notes.isEmpty ? "" : " (not checked: \(notes.joined(separator: "; ")))"
        let text = evidence.joined(separator: "; ")
        return problems.isEmpty ? Outcome(.pass, text + note, text) : Outcome(.fail, problems.joined(separator: "; ") + note, text)
    }

    /// Reads the kernel-module probe: (can be loaded, why), or nil when the output makes no sense.
    static func modprobeVerdict(_ output: String, name: String) -> (Bool, String)? {
        let all = lines(output)
        if all.contains("modules=none") { return (false, "no kernel modules are installed (/lib/modules is empty)") }
        let kernel = all.first { $0.hasPrefix("kernel=") }.map { String($0.dropFirst(7)) } ?? "?"
        if all.contains("builtin=yes") { return (true, "\(name) is built into kernel \(kernel)") }
        if let install = all.first(where: { $0.hasPrefix("install ") }) {
            let command = install.dropFirst(8).trimmingCharacters(in: .whitespaces)
            if command.range(of: #"^(/usr)?/bin/(false|true)(\s|$)"#, options: .regularExpression) != nil {
                return (false, "modprobe runs 'install \(command)' instead of loading it")
            }
            return (true, "modprobe runs the install command '\(command)'")
        }
        if let insmod = all.last(where: { $0.hasPrefix("insmod ") }) {
            return (true, "modprobe would load \(insmod.dropFirst(7).trimmingCharacters(in: .whitespaces))")
        }
        if all.contains("modprobe=absent") {
            if let file = all.first(where: { $0.hasPrefix("file=") }) {
                return (true, "modprobe is absent but the module file \(file.dropFirst(5)) exists")
            }
            // No file found proves absence only when the search itself succeeded.
            guard all.contains("find-exit=0") else { return nil }
            return (false, "no module \(name) for kernel \(kernel) (modprobe is absent)")
        }
        guard let exit = all.first(where: { $0.hasPrefix("modprobe-exit=") }).map({ String($0.dropFirst(14)) }) else { return nil }
        if exit != "0" {
            if output.contains("not found") { return (false, "no module \(name) for kernel \(kernel)") }
            return nil
        }
        return (true, "modprobe has nothing to do: \(name) is already loaded or built in (kernel \(kernel))")
    }
}
