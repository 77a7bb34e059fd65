import Foundation
import HallmarkModel
import HallmarkSupport

public struct FileCheck: Resource {
    public var path: String
    public var exists: Bool
    public var owner: String?
    public var group: String?
    /// The most permissive mode allowed: `0640` passes 0600 and 0640, fails 0644.
    public var modeCeiling: UInt16?
    public var contains: [String]
    public var notContains: [String]
    public var sha256: String?

    public init(
        path: String, exists: Bool = true, owner: String? = nil, group: String? = nil, modeCeiling: UInt16? = nil,
        contains: [String] = [], notContains: [String] = [], sha256: String? = nil
    ) {
        self.path = path
        self.exists = exists
        self.owner = owner
        self.group = group
        self.modeCeiling = modeCeiling
        self.contains = contains
        self.notContains = notContains
        self.sha256 = sha256
    }

    public var needsContent: Bool { !contains.isEmpty || !notContains.isEmpty }

    public static let kind = ResourceKind.file

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["path", "exists", "owner", "group", "mode", "contains", "not_contains", "sha256"])
        var ceiling: UInt16?
        if let modeInput = fields["mode"] {
            guard let mode = UInt16(try modeInput.string(), radix: 8), mode <= 0o7777 else {
                throw modeInput.error("mode must be an octal permission such as \"0640\" (quote it), got '\(try modeInput.string())'")
            }
            ceiling = mode
        }
        let contains = try fields["contains"]?.oneOrMoreStrings() ?? []
        let notContains = try fields["not_contains"]?.oneOrMoreStrings() ?? []
        for pattern in contains + notContains { try body.validateRegex(pattern) }
        self.init(
            path: try fields.required("path").absoluteGuestPath(),
            exists: try fields["exists"]?.bool() ?? true,
            owner: try fields["owner"]?.string(), group: try fields["group"]?.string(), modeCeiling: ceiling,
            contains: contains, notContains: notContains, sha256: try fields["sha256"]?.string())
    }

    public var probes: [Probe] {
        var probes = [Self.stat(path)]
        if sha256 != nil { probes.append(Self.sha256(path)) }
        if needsContent { probes.append(Self.content(path)) }
        return probes
    }

    static func stat(_ path: String) -> Probe {
        Probe(
            key: ProbeKey("file", path), script: "stat -c '%F|%U|%G|%a' -- \(shellQuoted(path))",
            execution: .batched(Probe.Batch(StatBatch.self, member: path)))
    }

    static func sha256(_ path: String) -> Probe {
        Probe(key: ProbeKey("sha256", path), script: "sha256sum -- \(shellQuoted(path))", execution: .subshell(cost: 1))
    }

    /// How much of a file the content checks read.
    static let contentLimit = 1_048_576
    /// The content probe's exit code when the file is longer than what it read (stderr says "truncated: …").
    static let contentTruncatedExitCode: Int32 = 3

    /// The first `contentLimit` bytes of the file; a longer file is reported as truncated, since
    /// a match may lie past what was read.
    static func content(_ path: String) -> Probe {
        let quoted = shellQuoted(path)
        return Probe(
            key: ProbeKey("content", path),
            script: """
                head -c \(contentLimit) -- \(quoted) || exit
                hm_n=$(wc -c <\(quoted)) || exit
                [ "$hm_n" -le \(contentLimit) ] || { printf 'truncated: %s has %s bytes; the first \(contentLimit) were read\\n' \(quoted) "$hm_n" >&2; exit \(contentTruncatedExitCode); }
                """, execution: .subshell(cost: 2))
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let file = self
        let stat = facts.output(Self.stat(file.path))
        guard stat.exitCode == 0 else {
            // Only stat's own report about this path proves absence; a stat that could not run says nothing.
            if stat.stderr.contains("'\(file.path)'") && stat.stderr.contains("No such file or directory") {
                return file.exists
                    ? Outcome(.fail, "\(file.path) does not exist", excerpt(stat.stderr))
                    : Outcome(.pass, "\(file.path) does not exist", "absent")
            }
            return Outcome(.error, "cannot stat \(file.path)", excerpt(stat.stderr))
        }
        let parts = normalizeWhitespace(stat.stdout).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, !parts[0].isEmpty, let mode = UInt16(parts[3], radix: 8), mode <= 0o7777 else {
            return Outcome(.error, "unexpected stat output", excerpt(stat.stdout))
        }
        let (type, owner, group) = (parts[0], parts[1], parts[2])
        let evidence = "\(file.path): \(type), owner \(owner), group \(group), mode \(String(format: "%04o", mode))"
        if !file.exists { return Outcome(.fail, "\(file.path) exists but must not", evidence) }
        var problems: [String] = []
        if let expected = file.owner, expected != owner { problems.append("owner is \(owner), expected \(expected)") }
        if let expected = file.group, expected != group { problems.append("group is \(group), expected \(expected)") }
        if let ceiling = file.modeCeiling, mode & ~ceiling != 0 {
            problems.append("mode \(String(format: "%04o", mode)) is more permissive than \(String(format: "%04o", ceiling))")
        }
        if let expected = file.sha256 {
            let sum = facts.output(Self.sha256(file.path))
            let actual = sum.stdout.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            guard sum.exitCode == 0, actual.count == 64, actual.allSatisfy(\.isHexDigit) else {
                return Outcome(.error, "cannot compute the sha256 of \(file.path) (exit \(sum.exitCode))", excerpt(sum.stderr + sum.stdout))
            }
            if actual.lowercased() != expected.lowercased() { problems.append("sha256 is \(actual), expected \(expected)") }
        }
        if file.needsContent {
            let read = facts.output(Self.content(file.path))
            let content = read.stdout
            // Exit 3 with "truncated:" is the probe saying it read only the first part of a longer file.
            let truncated = read.exitCode == Self.contentTruncatedExitCode && read.stderr.hasPrefix("truncated:")
            guard read.exitCode == 0 || truncated else {
                return Outcome(.error, "cannot read \(file.path) (exit \(read.exitCode))", excerpt(read.stderr))
            }
            var unproven: [String] = []
            for pattern in file.contains where firstMatch(pattern, in: content) == nil {
                if truncated { unproven.append("/\(pattern)/") } else { problems.append("content does not match /\(pattern)/") }
            }
            for pattern in file.notContains {
                if let line = firstMatch(pattern, in: content) {
                    problems.append("content matches /\(pattern)/ in line: \(line)")
                } else if truncated {
                    unproven.append("not /\(pattern)/")
                }
            }
            // A match in the part read decides; its absence there says nothing about the rest.
            if problems.isEmpty && !unproven.isEmpty {
                return Outcome(
                    .error,
                    "\(file.path) is longer than the \(Self.contentLimit) bytes read, so \(unproven.joined(separator: ", ")) cannot be decided",
                    evidence + "; " + excerpt(read.stderr))
            }
        }
        return problems.isEmpty
            ? Outcome(.pass, "\(file.path) is as required", evidence)
            : Outcome(.fail, problems.joined(separator: "; "), evidence)
    }
}

/// One `stat` for every file: it prints "type|owner|group|mode|path" per path, each member gets its
/// own line without the path (as `stat` of that path alone prints it), or stat's complaint about it.
enum StatBatch: ProbeBatch {
    static let cost = 2

    static func script(members: [String]) -> String {
        "stat -c '%F|%U|%G|%a|%n' -- \(members.map(shellQuoted).joined(separator: " "))"
    }

    static func split(_ output: ProbeOutput, members: [String]) -> [ProbeOutput] {
        let lines = output.stdout.split(separator: "\n").map(String.init)
        let errors = output.stderr.split(separator: "\n").map(String.init)
        return members.map { path in
            if let line = lines.first(where: { $0.hasSuffix("|" + path) }) {
                return ProbeOutput(exitCode: 0, stdout: String(line.dropLast(path.count + 1)) + "\n", stderr: "")
            }
            let error = errors.first { $0.contains("'\(path)'") } ?? output.stderr
            return ProbeOutput(exitCode: 1, stdout: "", stderr: error + "\n")
        }
    }
}
