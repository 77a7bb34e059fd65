import Foundation
import HallmarkSupport

/// The one script that collects every probe of a boot, and how to read its output back.
///
/// Probes run in `lanes` background shells at once (a TCG guest spends most of a probe starting
/// programs, so two vCPUs finish about twice as fast). Every lane walks the same list, costliest
/// first, and runs the probes it claims by creating a marker file with `set -C` (an exclusive
/// create, no program started), so a lane stuck on a slow probe never holds up the others. Each
/// lane writes its probes' stdout and stderr to files, framed by a random boundary line; at the
/// end one `cat` prints them all on stdout. The frames carry the exact bytes and the exit code,
/// so no output needs encoding and the script works over any channel that returns stdout.
///
/// The boundary is new for every plan and must stay unknown to the programs the probes run, or
/// one of them could forge another probe's frame: run `command` with `script` on its standard
/// input (`stdin`), so the boundary is in no process's argv or environment. The script is one
/// compound command that the shell reads whole before running any of it, with /dev/null as
/// its standard input, so no probe can read the rest of it.
public struct CollectorPlan: Sendable {
    public let probes: [Probe]
    public let script: String
    let boundary: String
    let sections: [Section]

    /// One framed part of the output: a single probe, or a batch answered by one program.
    enum Section: Sendable {
        case single(Probe)
        case batch(any ProbeBatch.Type, [Probe])

        var probes: [Probe] {
            switch self {
            case .single(let probe): [probe]
            case .batch(_, let probes): probes
            }
        }

        /// The batch members' names, in the batch's order.
        var members: [String] {
            probes.compactMap { if case .batched(let batch) = $0.execution { batch.member } else { nil } }
        }
    }

    /// `environment` is exported to every probe (the pipeline sets `HALLMARK_TEST_STARTED`).
    public init(probes: [Probe], lanes: Int = 2, environment: [String: String] = [:], boundary: String = Self.randomBoundary()) {
        self.probes = probes
        self.boundary = boundary
        var sections: [Section] = [], batches: [(kind: any ProbeBatch.Type, probes: [Probe])] = []
        for probe in probes {
            switch probe.execution {
            case .batched(let batch):
                if let index = batches.firstIndex(where: { ObjectIdentifier($0.kind) == ObjectIdentifier(batch.kind) }) {
                    batches[index].probes.append(probe)
                } else {
                    batches.append((batch.kind, [probe]))
                }
            case .subshell, .inline: sections.append(.single(probe))
            }
        }
        sections += batches.map { .batch($0.kind, $0.probes) }
        self.sections = sections
        let exports = environment.sorted { $0.key < $1.key }.map { "export \($0.key)=\(shellQuoted($0.value))" }
        script = Self.script(sections: sections, lanes: max(1, lanes), boundary: boundary, exports: exports)
    }

    /// What to run with `/bin/sh -c` (in the guest, or in the image's root): a shell that reads
    /// the script from its standard input.
    public static let command = "exec /bin/sh -s"

    /// The script as the bytes to send on the standard input of `command`.
    public var stdin: [UInt8] { Array(script.utf8) }

    public static func randomBoundary() -> String {
        "hallmark-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    // MARK: Script

    static func script(sections: [Section], lanes: Int, boundary: String, exports: [String]) -> String {
        var lines =
            [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH",
                "export PATH",
            ] + exports + [
                "hm_b=\(boundary)",
                // cat(1) with builtins only, for small files: starting cat costs 50–90 ms in a TCG
                // guest, reading byte by byte about 20 µs a byte. A missing final newline is kept;
                // NUL bytes are not (these are /proc and /etc text files).
                "hm_cat() {",
                "  [ -e \"$1\" ] || { printf 'cat: %s: No such file or directory\\n' \"$1\" >&2; return 1; }",
                "  [ -r \"$1\" ] && [ ! -d \"$1\" ] || { printf 'cat: %s: cannot read\\n' \"$1\" >&2; return 1; }",
                "  hm_l=; while IFS= read -r hm_l; do printf '%s\\n' \"$hm_l\"; hm_l=; done <\"$1\"",
                "  [ -z \"$hm_l\" ] || printf '%s' \"$hm_l\"",
                "}",
                "hm_begin() { printf '%s %s out\\n' \"$hm_b\" \"$1\"; printf '%s %s err\\n' \"$hm_b\" \"$1\" >&2; }",
                "hm_end() { printf '\\n%s %s end %s\\n' \"$hm_b\" \"$1\" \"$2\"; printf '\\n%s %s end\\n' \"$hm_b\" \"$1\" >&2; }",
            ]
        var preludes: [String] = []
        for prelude in sections.flatMap({ $0.probes.compactMap(\.prelude) }) where !preludes.contains(prelude) {
            preludes.append(prelude)
        }
        lines += preludes
        for (index, section) in sections.enumerated() {
            lines.append("hm_p\(index)() { \(run(section, index: index)); }")
        }
        lines.append("hm_dir=$(mktemp -d) || exit 97")
        let order = sections.indices.sorted { cost(sections[$0]) > cost(sections[$1]) }.map(String.init).joined(separator: " ")
        // `true`, not `:`: a failed redirection of a special builtin such as `:` ends a POSIX shell.
        for lane in 0..<min(lanes, max(sections.count, 1)) {
            lines.append(
                """
                ( set -C; for hm_i in \(order); do { true >"$hm_dir/claim.$hm_i"; } 2>/dev/null && hm_p$hm_i; done ) \
                  >"$hm_dir/\(lane).out" 2>"$hm_dir/\(lane).err" </dev/null &
                """)
        }
        lines.append("wait")
        lines.append("cat \"$hm_dir\"/*.out \"$hm_dir\"/*.err")
        // Nobody waits for the clean-up.
        lines.append("rm -rf \"$hm_dir\" >/dev/null 2>&1 &")
        // One compound command: the shell reads all of it (boundary included) before running
        // any, and nothing it starts can read the rest of the script from standard input.
        return "{\n" + lines.joined(separator: "\n") + "\n} </dev/null\n"
    }

    static func run(_ section: Section, index: Int) -> String {
        switch section {
        case .single(let probe):
            switch probe.execution {
            case .inline:
                return "hm_begin \(index); { \(probe.script)\n}; hm_end \(index) $?"
            default:
                // eval in a subshell: a probe's syntax error, exit or variables stay its own; set +C
                // undoes the lane's noclobber, which is only for claiming probes.
                return "hm_begin \(index); ( set +C; eval \(shellQuoted(probe.script)) ); hm_end \(index) $?"
            }
        case .batch(let kind, _):
            return "hm_begin \(index); \(kind.script(members: section.members)); hm_end \(index) $?"
        }
    }

    /// Orders the lanes' shared list: probes that start many programs or walk the disk go first.
    static func cost(_ section: Section) -> Int {
        switch section {
        case .single(let probe):
            if case .subshell(let cost) = probe.execution { return cost }
            return 0
        case .batch(let kind, _): return kind.cost
        }
    }

    // MARK: Output

    /// Reads the script's stdout back into one output per probe. A probe whose frame is missing
    /// (the script died, or output was cut) is an error, never an empty result.
    public func parse(_ output: String) throws -> [ProbeKey: ProbeOutput] {
        let frames = try Self.frames(in: Array(output.utf8), boundary: boundary)
        var results: [ProbeKey: ProbeOutput] = [:]
        if let unknown = Set(frames.stdout.keys).union(frames.stderr.keys).first(where: { !sections.indices.contains($0) }) {
            throw HallmarkError.infrastructure("the fact collector's output holds a frame for probe \(unknown), which it does not run")
        }
        for (index, section) in sections.enumerated() {
            guard let out = frames.stdout[index], let code = frames.exitCodes[index] else {
                throw HallmarkError.infrastructure("the fact collector stopped before probe '\(section.probes[0].key)'")
            }
            let sectionOutput = ProbeOutput(exitCode: code, stdout: out, stderr: frames.stderr[index] ?? "")
            for (key, value) in Self.split(section, output: sectionOutput) { results[key] = value }
        }
        return results
    }

    struct Frames {
        var stdout: [Int: String] = [:]
        var stderr: [Int: String] = [:]
        var exitCodes: [Int: Int32] = [:]
    }

    /// Finds every `<boundary> <index> out|err` … `\n<boundary> <index> end[ <code>]` frame.
    static func frames(in bytes: [UInt8], boundary: String) throws -> Frames {
        var frames = Frames()
        let marker = Array((boundary + " ").utf8)
        var position = 0
        while let start = find(marker, in: bytes, from: position) {
            guard let headerEnd = bytes[(start + marker.count)...].firstIndex(of: UInt8(ascii: "\n")) else { break }
            let header = String(decoding: bytes[(start + marker.count)..<headerEnd], as: UTF8.self).split(separator: " ")
            guard header.count == 2, let index = Int(header[0]), header[1] == "out" || header[1] == "err" else {
                throw HallmarkError.infrastructure("unexpected frame from the fact collector: \(header.joined(separator: " ").prefix(100))")
            }
            // Each probe writes each of its frames once: a second one is forged or corrupt, and
            // neither copy can be trusted.
            guard (header[1] == "out" ? frames.stdout[index] : frames.stderr[index]) == nil else {
                throw HallmarkError.infrastructure("the fact collector's output holds a second \(header[1]) frame for probe \(index)")
            }
            let closing = Array("\n\(boundary) \(index) end".utf8)
            guard let end = find(closing, in: bytes, from: headerEnd + 1) else { break }
            let body = String(decoding: bytes[(headerEnd + 1)..<end], as: UTF8.self)
            let trailerEnd = bytes[(end + closing.count)...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            if header[1] == "out" {
                let code = String(decoding: bytes[(end + closing.count)..<trailerEnd], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard let exitCode = Int32(code) else { break }
                frames.stdout[index] = body
                frames.exitCodes[index] = exitCode
            } else {
                frames.stderr[index] = body
            }
            position = trailerEnd
        }
        return frames
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            guard let candidate = haystack[index...last].firstIndex(of: first) else { return nil }
            if haystack[candidate..<(candidate + needle.count)].elementsEqual(needle) { return candidate }
            index = candidate + 1
        }
        return nil
    }

    /// Turns a batch's one output into each member probe's output, shaped as if it had run alone.
    static func split(_ section: Section, output: ProbeOutput) -> [(ProbeKey, ProbeOutput)] {
        switch section {
        case .single(let probe):
            return [(probe.key, output)]
        case .batch(let kind, let probes):
            let outputs = kind.split(output, members: section.members)
            return zip(probes, outputs).map { ($0.key, $1) }
        }
    }
}
