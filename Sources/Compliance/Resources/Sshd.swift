import Foundation
import HallmarkModel
import HallmarkSupport

/// A setting of the effective sshd configuration, as `sshd -T` prints it; or, with `anySet`, that
/// at least one of several list settings has an entry (sshd -T prints nothing for an empty
/// AllowUsers, one line per entry otherwise).
public struct SshdCheck: Resource {
    /// Lowercase, as `sshd -T` prints it.
    public var setting: String
    public var value: Matcher
    /// Lowercase; when not empty, `setting` and `value` are unused.
    public var anySet: [String] = []

    public init(setting: String, value: Matcher) {
        self.setting = setting
        self.value = value
    }

    /// Passes when sshd -T prints at least one of `settings` with a value.
    public init(anySet settings: [String]) {
        self.init(setting: "", value: .matches("."))
        anySet = settings.map { $0.lowercased() }
    }

    public static let kind = ResourceKind.sshd

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["setting", "value", "any_set"])
        if let list = fields["any_set"] {
            guard fields["setting"] == nil, fields["value"] == nil else {
                throw body.error("an sshd check has either any_set or setting and value, not both")
            }
            let names = try list.strings()
            guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter } }) else {
                throw list.error("any_set must list sshd settings such as AllowUsers, got \(names)")
            }
            self.init(anySet: names)
            return
        }
        self.init(setting: try fields.required("setting").string().lowercased(), value: try fields.required("value").matcher())
    }

    public var probes: [Probe] { [Self.probe] }

    /// `sshd -T`; when sshd refuses because the image has no host keys (as a clean image should) or
    /// no /run/sshd (a root filesystem), it is retried with a throw-away key.
    static let probe = Probe(
        key: "sshd",
        script: """
            hm_out=$(sshd -T 2>&1) && { printf '%s\\n' "$hm_out"; exit 0; }
            case $hm_out in *"no hostkeys"*|*"privilege separation directory"*) ;; *) printf '%s\\n' "$hm_out" >&2; exit 1;; esac
            hm_k=$(mktemp -d) || exit 1
            if ! ssh-keygen -q -t ed25519 -N '' -f "$hm_k/key" >/dev/null 2>&1; then rm -rf "$hm_k"; printf '%s\\n' "$hm_out" >&2; exit 1; fi
            hm_made=; [ -d /run/sshd ] || { mkdir -p /run/sshd && hm_made=1; }
            sshd -T -h "$hm_k/key"; hm_rc=$?
            [ -n "$hm_made" ] && rmdir /run/sshd
            rm -rf "$hm_k"; exit $hm_rc
            """, execution: .subshell(cost: 12))

    public func evaluate(_ facts: Facts) -> Outcome {
        let sshd = self, output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "sshd -T failed (exit \(output.exitCode))", excerpt(output.stderr + output.stdout))
        }
        let printed = lines(output.stdout).compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard let name = parts.first?.lowercased() else { return nil }
            return (name, parts.count > 1 ? parts[1] : "")
        }
        if !anySet.isEmpty {
            let entries = printed.filter { anySet.contains($0.0) && !$0.1.isEmpty }.map { "\($0.0) \($0.1)" }
            return entries.isEmpty
                ? Outcome(.fail, "sshd -T prints none of \(anySet.joined(separator: ", ")): every account may log in", "")
                : Outcome(.pass, entries.joined(separator: "; "), entries.joined(separator: "\n"))
        }
        let values = printed.filter { $0.0 == sshd.setting }.map(\.1)
        guard let value = values.first else { return Outcome(.fail, "sshd -T does not print '\(sshd.setting)'", "") }
        let evidence = "\(sshd.setting) \(value)"
        return match(sshd.value, value)
            ? Outcome(.pass, evidence, evidence)
            : Outcome(.fail, "\(sshd.setting) is '\(value)'; expected a value that \(sshd.value)", evidence)
    }
}
