import Foundation
import HallmarkModel
import HallmarkSupport

/// A walk of the filesystems under some paths: world-writable, unowned and set-id files.
public struct FindCheck: Resource {
    /// Searched with `-xdev`: each path's own filesystem only.
    public var paths: [String]
    /// `false`: no world-writable regular file. nil: not checked.
    public var worldWritable: Bool?
    /// `false`: no file without a known user or group. nil: not checked.
    public var unowned: Bool?
    /// Every SUID/SGID file must be in this list. nil: not checked.
    public var suidAllowed: [String]?

    public init(paths: [String], worldWritable: Bool? = nil, unowned: Bool? = nil, suidAllowed: [String]? = nil) {
        self.paths = paths
        self.worldWritable = worldWritable
        self.unowned = unowned
        self.suidAllowed = suidAllowed
    }

    public static let kind = ResourceKind.find

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["paths", "world_writable", "unowned", "suid_allowed"])
        let paths = try fields["paths"]?.sequence().map { try $0.absoluteGuestPath() } ?? ["/"]
        guard !paths.isEmpty else { throw body.error("find needs at least one path") }
        for key in ["world_writable", "unowned"] {
            if let input = fields[key], try input.bool() {
                throw input.error("find supports '\(key): false' (no such files under the paths)")
            }
        }
        let allowed = try fields["suid_allowed"].map { list in try list.sequence().map { try $0.absoluteGuestPath() } }
        guard fields["world_writable"] != nil || fields["unowned"] != nil || allowed != nil else {
            throw body.error("find needs one of: world_writable: false, unowned: false, suid_allowed: [paths]")
        }
        self.init(
            paths: paths, worldWritable: fields["world_writable"] != nil ? false : nil,
            unowned: fields["unowned"] != nil ? false : nil, suidAllowed: allowed)
    }

    public var probes: [Probe] { [Self.walk(paths)] }

    /// One walk of `paths` (without crossing filesystems) that lists, each as a NUL-terminated
    /// "TAG PATH" record (a file name may hold a newline, never a NUL), world-writable files,
    /// files whose owner or group has no entry in /etc/passwd or /etc/group, and set-uid/set-gid
    /// files, then an "end" record once find finished without an error. Errors go to stderr and
    /// fail the probe: a walk that did not happen proves nothing. Owners are compared by number
    /// against lists built from those files: `find -nouser` asks NSS once per file, which took
    /// 9 s on a TCG guest against 1.5 s. Files that vanish during the walk (other probes' scratch)
    /// are not errors.
    static func walk(_ paths: [String]) -> Probe {
        Probe(
            key: ProbeKey("find", paths.joined(separator: ",")),
            script: """
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

    public func evaluate(_ facts: Facts) -> Outcome {
        let find = self
        let under = find.paths.joined(separator: ", ")
        var problems: [String] = [], evidence: [String] = [], passes: [String] = []
        let walk: [(tag: String, path: String)]
        switch Self.walkRecords(facts.output(Self.walk(find.paths))) {
        case .success(let records): walk = records
        case .failure(let error): return Outcome(.error, "the walk of \(under) did not complete: \(error.message)", "")
        }
        func tagged(_ tag: String) -> [String] { walk.filter { $0.tag == tag }.map(\.path) }
        /// One criterion's verdict from the files the walk tagged with it.
        func judge(_ tag: String, none: String, found: (Int) -> String) {
            let files = tagged(tag)
            if files.isEmpty {
                passes.append(none)
            } else {
                problems.append(found(files.count))
                evidence.append("\(tag):\n" + files.joined(separator: "\n"))
            }
        }
        if find.worldWritable != nil {
            judge("world-writable", none: "no world-writable files") { "\($0) world-writable file(s)" }
        }
        if find.unowned != nil {
            judge("unowned", none: "no files without a known owner or group") { "\($0) file(s) without a known owner or group" }
        }
        if let allowed = find.suidAllowed {
            let files = tagged("setid")
            let unexpected = files.filter { !allowed.contains($0) }
            if unexpected.isEmpty {
                passes.append("\(files.count) SUID/SGID file(s), all allowed")
            } else {
                problems.append(
                    "\(unexpected.count) SUID/SGID file(s) not in the allow-list: \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? ", …" : "")"
                )
            }
            evidence.append("SUID/SGID:\n" + (files.isEmpty ? "(none)" : files.joined(separator: "\n")))
        }
        let text = excerpt(evidence.joined(separator: "\n"))
        return problems.isEmpty
            ? Outcome(.pass, passes.joined(separator: "; ") + " under \(under)", text)
            : Outcome(.fail, problems.joined(separator: "; ") + " under \(under)", text)
    }

    static let walkTags: Set<String> = ["world-writable", "unowned", "setid"]

    /// The walk's records: "TAG PATH" each ended by a NUL (a file name may hold a newline, never a
    /// NUL), then "end" once find finished without an error. A walk that failed, was cut short or
    /// printed anything else proves nothing.
    static func walkRecords(_ output: ProbeOutput) -> Result<[(tag: String, path: String)], UnexpectedFact> {
        guard output.exitCode == 0 else {
            return .failure(UnexpectedFact(message: "exit \(output.exitCode): \(excerpt(output.stderr, limit: 300))"))
        }
        var records = output.stdout.split(separator: "\0", omittingEmptySubsequences: false)
        guard records.count >= 2, records.removeLast().isEmpty, records.removeLast() == "end" else {
            return .failure(UnexpectedFact(message: "its output does not end with the end record"))
        }
        var walk: [(tag: String, path: String)] = []
        for record in records {
            guard let space = record.firstIndex(of: " "), walkTags.contains(String(record[..<space])),
                record.index(after: space) < record.endIndex
            else {
                return .failure(UnexpectedFact(message: "unexpected record '\(excerpt(String(record), limit: 120))'"))
            }
            walk.append((String(record[..<space]), String(record[record.index(after: space)...])))
        }
        return .success(walk)
    }
}
