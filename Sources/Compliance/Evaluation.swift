import Foundation
import HallmarkModel
import HallmarkSupport
import Synchronization

/// XCCDF result states plus waivers.
public enum ResultStatus: String, Codable, Sendable, CaseIterable {
    case pass, fail, error, notapplicable, notchecked, informational, waived
}

/// The result of one control, with the evidence that decided it.
public struct ControlResult: Sendable {
    public var control: Control
    public var policyID: String
    public var status: ResultStatus
    /// One sentence saying why.
    public var message: String
    /// An excerpt of the raw facts behind the result.
    public var evidence: String
    /// The waiver that applied (or expired): mode, expiry, justification, where it is written.
    public var waiver: String?
    /// For a control waived in `run` mode: what the evaluation said before the waiver applied.
    public var originalStatus: ResultStatus?
    /// Where the facts behind the result were observed: the guest, the disk artifact, a root filesystem.
    public var observedIn: [Facts.Source] = []

    public init(control: Control, policyID: String, status: ResultStatus, message: String, evidence: String,
                waiver: String? = nil, originalStatus: ResultStatus? = nil) {
        self.control = control
        self.policyID = policyID
        self.status = status
        self.message = message
        self.evidence = evidence
        self.waiver = waiver
        self.originalStatus = originalStatus
    }
}

/// The gate's decision over a set of results.
public enum Verdict: String, Codable, Sendable {
    /// No control at or above the threshold failed or errored.
    case pass
    /// A control at or above the threshold failed.
    case fail
    /// Nothing failed, but a control at or above the threshold could not be evaluated.
    case incomplete
}

/// Pure evaluation of controls against facts: no I/O, so every rule is unit-testable.
public enum Evaluator {
    /// A component's own `test` phase, reported beside the policy controls so its failure closes
    /// the gate like any control instead of aborting the run.
    public static func componentTestResult(component: String, path: String, failure: String?) -> ControlResult {
        let control = Control(
            id: "component-test-\(component)", title: "Component \(component): its test phase passes", severity: .high,
            rationale: "A component's test phase checks, in the booted image, that the component did its job.",
            remediation: "Fix the component's build phase so that its test phase passes; the step's output is in the message.",
            references: [:], check: .command(CommandCheck(run: "test phase of \(component)", exitCode: 0, stdout: nil)),
            location: SourceLocation(file: path))
        var result = ControlResult(
            control: control, policyID: "component-tests", status: failure == nil ? .pass : .fail,
            message: failure ?? "every step of the test phase succeeded", evidence: failure.map { excerpt($0) } ?? "")
        result.observedIn = [.guest]
        return result
    }

    public static func evaluate(_ policy: Policy, facts: Facts) -> [ControlResult] {
        policy.controls.map { evaluate($0, policyID: policy.id, facts: facts) }
    }

    /// Evaluates the policy with its waivers applied: controls under an unexpired `skip` waiver are
    /// not evaluated at all; every waiver is then applied as `applyWaivers` describes.
    public static func evaluate(_ policy: Policy, facts: Facts, waivers: Waivers, today: Date) -> [ControlResult] {
        let skipped = waivers.skipped(on: today)
        let results = policy.controls.map { control in
            skipped.contains(control.id)
                ? ControlResult(control: control, policyID: policy.id, status: .notchecked, message: "not evaluated (waived)", evidence: "")
                : evaluate(control, policyID: policy.id, facts: facts)
        }
        return applyWaivers(results, waivers, today: today)
    }

    /// One control: its `only_if` precondition first (not holding → notapplicable), then its check.
    /// A failing control of severity `info` is `informational`.
    public static func evaluate(_ control: Control, policyID: String, facts: Facts) -> ControlResult {
        var result = evaluateUnsourced(control, policyID: policyID, facts: facts)
        result.observedIn = sources(of: control, facts: facts)
        return result
    }

    /// Where the facts a control read were observed (probes that were not collected do not
    /// count); the reboot test and boot health's system state are observed in the guest by the pipeline.
    static func sources(of control: Control, facts: Facts) -> [Facts.Source] {
        var sources = Set(Collector.requiredProbes(control).filter { facts.probes[$0.key] != nil }.map { facts.source(of: $0.key) })
        switch control.check {
        case .reboot where facts.reboot != nil, .bootHealth where facts.probes[Collector.systemStateKey] != nil:
            sources.insert(.guest)
        default:
            break
        }
        return sources.sorted()
    }

    static func evaluateUnsourced(_ control: Control, policyID: String, facts: Facts) -> ControlResult {
        if let condition = control.onlyIf {
            let (status, message, evidence) = evaluate(condition, facts: facts)
            switch status {
            case .pass:
                break
            case .fail, .informational, .notapplicable:
                return ControlResult(control: control, policyID: policyID, status: .notapplicable,
                                     message: "not applicable: only_if does not hold (\(message))", evidence: evidence)
            case .error, .notchecked, .waived:
                return ControlResult(control: control, policyID: policyID, status: status == .error ? .error : .notchecked,
                                     message: "only_if could not be evaluated: \(message)", evidence: evidence)
            }
        }
        var (status, message, evidence) = evaluate(control.check, facts: facts)
        if status == .fail && control.severity == .info { status = .informational }
        return ControlResult(control: control, policyID: policyID, status: status, message: message, evidence: evidence)
    }

    public static func verdict(_ results: [ControlResult], threshold: Severity) -> Verdict {
        let gating = results.filter { $0.control.severity >= threshold }
        if gating.contains(where: { $0.status == .fail }) { return .fail }
        if gating.contains(where: { $0.status == .error || $0.status == .notchecked }) { return .incomplete }
        return .pass
    }

    // MARK: Waivers

    /// Applies waivers on the host, after evaluation. An unexpired waiver makes the result `waived`:
    /// in `skip` mode the evaluation is discarded; in `run` mode the original status, message and
    /// evidence are kept (`originalStatus`, message, evidence). An expired waiver changes nothing but
    /// the message, which says "waiver expired on …". Results of controls without a waiver are unchanged.
    public static func applyWaivers(_ results: [ControlResult], _ waivers: Waivers, today: Date) -> [ControlResult] {
        applyWaivers(results, waivers.waivers, today: today)
    }

    public static func applyWaivers(_ results: [ControlResult], _ waivers: [Waiver], today: Date) -> [ControlResult] {
        results.map { result in
            guard let waiver = waivers.first(where: { $0.controlID == result.control.id }) else { return result }
            var waived = result
            let until = waiver.expires.map { "until \($0)" } ?? "without expiry"
            if waiver.isExpired(on: today) {
                waived.waiver = "expired on \(waiver.expires!) (\(waiver.mode.rawValue), \(waiver.location)): \(waiver.justification)"
                waived.message = "waiver expired on \(waiver.expires!), so it no longer applies; \(result.message)"
                return waived
            }
            waived.status = .waived
            waived.waiver = "\(waiver.mode.rawValue) \(until) (\(waiver.location)): \(waiver.justification)"
            switch waiver.mode {
            case .skip:
                waived.message = "waived \(until), not evaluated: \(waiver.justification)"
                waived.evidence = ""
                waived.originalStatus = nil
            case .run:
                waived.originalStatus = result.status
                waived.message = "waived \(until): \(waiver.justification); evaluated: \(result.status.rawValue) (\(result.message))"
            }
            return waived
        }
    }

    // MARK: Checks

    typealias Outcome = (ResultStatus, String, String)

    static func notCollected(_ probe: Probe, facts: Facts) -> String {
        facts.source == .rootfs && probe.runtime
            ? "runtime-only: '\(probe.key)' cannot be observed in an unpacked root filesystem"
            : "no fact '\(probe.key)' was collected"
    }

    static func evaluate(_ check: Check, facts: Facts) -> Outcome {
        switch check {
        case .reboot:
            if facts.reboot == nil && facts.source == .rootfs {
                return (.notchecked, "runtime-only: a reboot cannot be tested on an unpacked root filesystem", "")
            }
            return evaluateReboot(facts.reboot)
        case .sysctl(let sysctl): return evaluateSysctl(sysctl, facts: facts)
        case .kernelModule(let module): return evaluateKernelModule(module, facts: facts)
        default: break
        }
        let probes = Collector.requiredProbes(check)
        if let missing = probes.first(where: { facts.probes[$0.key] == nil }) {
            return (.notchecked, notCollected(missing, facts: facts), "")
        }
        // Every required probe is present (checked above); the fallback only keeps this total.
        let output = { (key: String) in
            facts.probes[key] ?? ProbeOutput(exitCode: -1, stdout: "", stderr: "no fact '\(key)' was collected")
        }
        switch check {
        case .file(let file): return evaluateFile(file, output: output)
        case .package(let package): return evaluatePackage(package, output: output(Collector.packages.key))
        case .service(let service): return evaluateService(service, output: output("service:\(service.name)"))
        case .sshd(let sshd): return evaluateSshd(sshd, output: output(Collector.sshd.key))
        case .accounts(let accounts): return evaluateAccounts(accounts, facts: facts)
        case .find(let find): return evaluateFind(find, output: output)
        case .mount(let mount): return evaluateMount(mount, output: output(Collector.mounts.key))
        case .port(let port): return evaluatePort(port, output: output(Collector.sockets.key))
        case .user(let user): return evaluateUser(user, passwd: output(Collector.passwd.key))
        case .group(let group): return evaluateGroup(group, groups: output(Collector.group.key))
        case .bootHealth:
            let fact = output(Collector.failedUnits.key)
            // An empty list proves nothing when systemctl could not answer.
            guard fact.exitCode == 0 else {
                return (.error, "systemctl --failed did not run (exit \(fact.exitCode))", excerpt(fact.stderr + fact.stdout))
            }
            let failed = lines(fact.stdout)
            let state = facts.probes[Collector.systemStateKey].map { normalizeWhitespace($0.stdout) } ?? "unknown"
            return failed.isEmpty ? (.pass, "no failed units (system state: \(state))", "systemctl --failed: (empty); state: \(state)")
                : (.fail, "\(failed.count) failed unit(s)", excerpt(failed.joined(separator: "\n")))
        case .command(let command): return evaluateCommand(command, output: output("command:\(command.run)"))
        case .reboot, .sysctl, .kernelModule: fatalError("handled above")
        }
    }

    static func evaluateFile(_ file: FileCheck, output: (String) -> ProbeOutput) -> Outcome {
        let stat = output("file:\(file.path)")
        guard stat.exitCode == 0 else {
            // Only stat's own report about this path proves absence; a stat that could not run says nothing.
            if stat.stderr.contains("'\(file.path)'") && stat.stderr.contains("No such file or directory") {
                return file.exists ? (.fail, "\(file.path) does not exist", excerpt(stat.stderr)) : (.pass, "\(file.path) does not exist", "absent")
            }
            return (.error, "cannot stat \(file.path)", excerpt(stat.stderr))
        }
        let parts = normalizeWhitespace(stat.stdout).split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, !parts[0].isEmpty, let mode = UInt16(parts[3], radix: 8), mode <= 0o7777 else {
            return (.error, "unexpected stat output", excerpt(stat.stdout))
        }
        let (type, owner, group) = (parts[0], parts[1], parts[2])
        let evidence = "\(file.path): \(type), owner \(owner), group \(group), mode \(String(format: "%04o", mode))"
        if !file.exists { return (.fail, "\(file.path) exists but must not", evidence) }
        var problems: [String] = []
        if let expected = file.owner, expected != owner { problems.append("owner is \(owner), expected \(expected)") }
        if let expected = file.group, expected != group { problems.append("group is \(group), expected \(expected)") }
        if let ceiling = file.modeCeiling, mode & ~ceiling != 0 {
            problems.append("mode \(String(format: "%04o", mode)) is more permissive than \(String(format: "%04o", ceiling))")
        }
        if let expected = file.sha256 {
            let sum = output("sha256:\(file.path)")
            let actual = sum.stdout.split(separator: " ", maxSplits: 1).first.map(String.init) ?? ""
            guard sum.exitCode == 0, actual.count == 64, actual.allSatisfy(\.isHexDigit) else {
                return (.error, "cannot compute the sha256 of \(file.path) (exit \(sum.exitCode))", excerpt(sum.stderr + sum.stdout))
            }
            if actual.lowercased() != expected.lowercased() { problems.append("sha256 is \(actual), expected \(expected)") }
        }
        if file.needsContent {
            let read = output("content:\(file.path)")
            let content = read.stdout
            // Exit 3 with "truncated:" is the probe saying it read only the first part of a longer file.
            let truncated = read.exitCode == Collector.contentTruncatedExitCode && read.stderr.hasPrefix("truncated:")
            guard read.exitCode == 0 || truncated else {
                return (.error, "cannot read \(file.path) (exit \(read.exitCode))", excerpt(read.stderr))
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
                return (.error, "\(file.path) is longer than the \(Collector.contentLimit) bytes read, so \(unproven.joined(separator: ", ")) cannot be decided",
                        evidence + "; " + excerpt(read.stderr))
            }
        }
        return problems.isEmpty ? (.pass, "\(file.path) is as required", evidence)
            : (.fail, problems.joined(separator: "; "), evidence)
    }

    static func evaluatePackage(_ package: PackageCheck, output: ProbeOutput) -> Outcome {
        guard output.exitCode == 0 else { return (.error, "dpkg-query failed", excerpt(output.stderr)) }
        // One "name<TAB>status<TAB>version" line per package (a multi-arch package has one per architecture).
        var entries: [[String]] = []
        for line in output.stdout.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[0].isEmpty else { return (.error, "unexpected dpkg-query output", excerpt(String(line))) }
            entries.append(fields)
        }
        // No package at all is no package database, not an image without the package.
        guard !entries.isEmpty else { return (.error, "dpkg-query listed no packages", excerpt(output.stderr)) }
        let named = entries.filter { $0[0] == package.name }
        let fields = named.first { $0[1].hasPrefix("ii") } ?? named.first ?? []
        let installed = fields.count == 3 && fields[1].hasPrefix("ii")
        let evidence = installed ? "\(package.name) \(fields[2]) installed" : "\(package.name) not installed"
        switch (package.installed, installed) {
        case (true, true):
            guard let constraint = package.version else { return (.pass, evidence, evidence) }
            guard let version = DebianVersion(fields[2]) else { return (.error, "cannot parse the installed version '\(fields[2])'", evidence) }
            return constraint.isSatisfied(by: version)
                ? (.pass, "\(package.name) \(version) satisfies \(constraint)", evidence)
                : (.fail, "\(package.name) \(version) does not satisfy \(constraint)", evidence)
        case (false, false): return (.pass, evidence, evidence)
        case (true, false): return (.fail, "\(package.name) is not installed but must be", evidence)
        case (false, true): return (.fail, "\(package.name) is installed but must not be", evidence)
        }
    }

    static func evaluateService(_ service: ServiceCheck, output: ProbeOutput) -> Outcome {
        // An empty answer is not "disabled and inactive": systemctl must have answered for this unit.
        guard output.exitCode == 0 else {
            return (.error, "systemctl could not report \(service.name) (exit \(output.exitCode))", excerpt(output.stderr + output.stdout))
        }
        var states: [String: String] = [:]
        for line in lines(output.stdout) {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2, ["enabled", "active"].contains(pair[0]), states[pair[0]] == nil else {
                return (.error, "unexpected systemctl output for \(service.name)", excerpt(output.stdout))
            }
            states[pair[0]] = pair[1]
        }
        guard let enabled = states["enabled"], let active = states["active"], !active.isEmpty else {
            return (.error, "systemctl did not report the state of \(service.name)", excerpt(output.stdout + output.stderr))
        }
        let evidence = "\(service.name): is-enabled=\(enabled.isEmpty ? "(none)" : enabled) is-active=\(active)"
        var problems: [String] = []
        if let expected = service.enabled, expected != ["enabled", "enabled-runtime", "static", "alias"].contains(enabled) {
            problems.append(expected ? "not enabled" : "enabled but must not be")
        }
        if let expected = service.active, expected != (active == "active") {
            problems.append(expected ? "not active" : "active but must not be")
        }
        return problems.isEmpty ? (.pass, evidence, evidence) : (.fail, "\(service.name) is " + problems.joined(separator: " and "), evidence)
    }

    /// Live value (`/proc/sys`) and/or persisted value (the configuration files, last one wins).
    /// A part whose fact was not collected (the live value in a root filesystem) is noted, not failed.
    static func evaluateSysctl(_ sysctl: SysctlCheck, facts: Facts) -> Outcome {
        var problems: [String] = [], evidence: [String] = [], notes: [String] = []
        var checked = 0
        if sysctl.live {
            let key = "sysctl:\(sysctl.key)"
            if let fact = facts.probes[key] {
                checked += 1
                guard fact.exitCode == 0 else { return (.error, "sysctl \(sysctl.key) cannot be read", excerpt(fact.stderr)) }
                let value = normalizeWhitespace(fact.stdout)
                guard !value.isEmpty else { return (.error, "sysctl \(sysctl.key) read as empty", excerpt(fact.stderr)) }
                evidence.append("\(sysctl.key) = \(value)")
                if !match(sysctl.value, value) { problems.append("\(sysctl.key) is \(value); expected a value that \(sysctl.value)") }
            } else {
                notes.append(facts.source == .rootfs ? "the live value is not observable in a root filesystem" : "no fact '\(key)' was collected")
            }
        }
        if sysctl.persisted {
            if let fact = facts.probes[Collector.sysctlConfiguration.key] {
                checked += 1
                // A file that could not be read may hold the setting.
                guard fact.exitCode == 0 else {
                    return (.error, "the sysctl configuration files cannot be read (exit \(fact.exitCode))", excerpt(fact.stderr))
                }
                if let (value, file) = persistedSysctl(sysctl.key, in: fact.stdout) {
                    evidence.append("persisted: \(sysctl.key) = \(value) (\(file))")
                    if !match(sysctl.value, value) {
                        problems.append("\(file) sets \(sysctl.key) = \(value); expected a value that \(sysctl.value)")
                    }
                } else {
                    evidence.append("persisted: \(sysctl.key) is not set in any sysctl configuration file")
                    problems.append("\(sysctl.key) is not set in /etc/sysctl.conf or any sysctl.d file")
                }
            } else {
                notes.append(notCollected(Collector.sysctlConfiguration, facts: facts))
            }
        }
        guard checked > 0 else { return (.notchecked, notes.joined(separator: "; "), "") }
        let note = notes.isEmpty ? "" : " (not checked: \(notes.joined(separator: "; ")))"
        return problems.isEmpty ? (.pass, evidence.joined(separator: "; ") + note, evidence.joined(separator: "\n"))
            : (.fail, problems.joined(separator: "; ") + note, evidence.joined(separator: "\n"))
    }

    /// The value `key` ends up with after systemd-sysctl / `sysctl --system` read every file: the
    /// first file of each name in directory order, applied by file name, then /etc/sysctl.conf.
    static func persistedSysctl(_ key: String, in listing: String) -> (value: String, file: String)? {
        var sections: [(path: String, lines: [Substring])] = []
        for line in listing.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("==> ") {
                // `tail -v` writes "==> PATH <=="; older facts wrote "==> PATH".
                let header = line.dropFirst(4)
                sections.append((String(header.hasSuffix(" <==") ? header.dropLast(4) : header), []))
            } else if !sections.isEmpty {
                sections[sections.count - 1].lines.append(line)
            }
        }
        var byName: [String: (path: String, lines: [Substring])] = [:]
        var sysctlConf: (path: String, lines: [Substring])?
        for section in sections {
            if section.path == "/etc/sysctl.conf" { sysctlConf = section; continue }
            let name = (section.path as NSString).lastPathComponent
            if byName[name] == nil { byName[name] = section }
        }
        let ordered = byName.keys.sorted().map { byName[$0]! } + (sysctlConf.map { [$0] } ?? [])
        var result: (String, String)?
        for section in ordered {
            for rawLine in section.lines {
                var line = String(trimmed(rawLine, isBlank))
                if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
                if line.hasPrefix("-") { line.removeFirst() }
                let parts = line.split(separator: "=", maxSplits: 1).map { String(trimmed($0, isBlank)) }
                guard parts.count == 2 else { continue }
                if parts[0].replacingOccurrences(of: "/", with: ".") == key {
                    result = (normalizeWhitespace(parts[1]), section.path)
                }
            }
        }
        return result
    }

    static func evaluateSshd(_ sshd: SshdCheck, output: ProbeOutput) -> Outcome {
        guard output.exitCode == 0 else { return (.error, "sshd -T failed (exit \(output.exitCode))", excerpt(output.stderr + output.stdout)) }
        let values = lines(output.stdout).compactMap { line -> String? in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            return parts.first?.lowercased() == sshd.setting ? (parts.count > 1 ? parts[1] : "") : nil
        }
        guard let value = values.first else { return (.fail, "sshd -T does not print '\(sshd.setting)'", "") }
        let evidence = "\(sshd.setting) \(value)"
        return match(sshd.value, value) ? (.pass, evidence, evidence)
            : (.fail, "\(sshd.setting) is '\(value)'; expected a value that \(sshd.value)", evidence)
    }

    // MARK: Accounts

    struct PasswdEntry {
        var name: String, password: String, uid: UInt32, gid: UInt32, home: String, shell: String
    }

    struct GroupEntry {
        var name: String, gid: UInt32, members: String
    }

    /// A line of an account database that glibc would not read as the collector reports it.
    struct UnexpectedFact: Error {
        var message: String
    }

    /// A uid or gid as glibc's nss_files reads it: `strtoul` in base 10 (leading blanks and a sign
    /// allowed, "00" is 0, "-1" wraps), saturated to 32 bits, ending at the field. nil where glibc
    /// rejects the field (and with it the line).
    static func glibcID(_ field: Substring) -> UInt32? {
        var digits = field.utf8[...]
        let blanks: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
        while let first = digits.first, blanks.contains(first) { digits = digits.dropFirst() }
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            // strtoul returns ULONG_MAX on overflow, whatever the sign.
            if overflowA || overflowB { return UInt32.max }
            value = sum
        }
        if negative { value = 0 &- value }
        return value > UInt64(UInt32.max) ? UInt32.max : UInt32(value)
    }

    /// An id field of the entry `name`; a `+`/`-` (NIS compat) entry may leave it empty, which glibc reads as 0.
    static func accountID(_ field: Substring, name: Substring, what: String, line: Substring) throws(UnexpectedFact) -> UInt32 {
        if field.isEmpty, name.hasPrefix("+") || name.hasPrefix("-") { return 0 }
        guard let id = glibcID(field) else {
            throw UnexpectedFact(message: "\(what) '\(field.prefix(40))' is not a number (line: \(line.prefix(120)))")
        }
        return id
    }

    /// The lines of a passwd or group file that carry entries (blank lines and `#` comments are skipped, as glibc does).
    static func accountLines(_ text: String) -> [Substring] {
        text.split(separator: "\n").compactMap { line -> Substring? in
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            return trimmed.isEmpty || trimmed.hasPrefix("#") ? nil : trimmed
        }
    }

    static func passwdEntries(_ text: String) throws(UnexpectedFact) -> [PasswdEntry] {
        var entries: [PasswdEntry] = []
        for line in accountLines(text) {
            // The shell is the rest of the line, as glibc reads it.
            let fields = line.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
            guard fields.count == 7 else { throw UnexpectedFact(message: "unexpected line in /etc/passwd: \(line.prefix(120))") }
            entries.append(PasswdEntry(
                name: String(fields[0]), password: String(fields[1]),
                uid: try accountID(fields[2], name: fields[0], what: "uid", line: line),
                gid: try accountID(fields[3], name: fields[0], what: "gid", line: line),
                home: String(fields[5]), shell: String(fields[6])))
        }
        guard !entries.isEmpty else { throw UnexpectedFact(message: "/etc/passwd has no entries") }
        return entries
    }

    static func groupEntries(_ text: String) throws(UnexpectedFact) -> [GroupEntry] {
        var entries: [GroupEntry] = []
        for line in accountLines(text) {
            // glibc accepts a line that ends after the gid (no member list).
            let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { throw UnexpectedFact(message: "unexpected line in /etc/group: \(line.prefix(120))") }
            entries.append(GroupEntry(name: String(fields[0]), gid: try accountID(fields[2], name: fields[0], what: "gid", line: line),
                                      members: fields.count > 3 ? String(fields[3]) : ""))
        }
        guard !entries.isEmpty else { throw UnexpectedFact(message: "/etc/group has no entries") }
        return entries
    }

    /// "1000 (alice, bob)" for every value held by more than one entry.
    static func duplicates(_ pairs: [(value: String, owner: String)]) -> [String] {
        var owners: [String: [String]] = [:], order: [String] = []
        for pair in pairs {
            if owners[pair.value] == nil { order.append(pair.value) }
            owners[pair.value, default: []].append(pair.owner)
        }
        return order.compactMap { value in
            guard let holders = owners[value], holders.count > 1 else { return nil }
            return "\(value) (\(holders.joined(separator: ", ")))"
        }
    }

    static func evaluateAccounts(_ accounts: AccountsCheck, facts: Facts) -> Outcome {
        var problems: [String] = [], evidence: [String] = []
        var users: [PasswdEntry] = [], groups: [GroupEntry] = []
        func fact(_ probe: Probe) -> ProbeOutput {
            facts.probes[probe.key] ?? ProbeOutput(exitCode: -1, stdout: "", stderr: "no fact '\(probe.key)' was collected")
        }
        do throws(UnexpectedFact) {
            if accounts.readsPasswd {
                let passwd = fact(Collector.passwd)
                guard passwd.exitCode == 0 else { return (.error, "cannot read /etc/passwd", excerpt(passwd.stderr)) }
                users = try passwdEntries(passwd.stdout)
            }
            if accounts.readsGroup {
                let group = fact(Collector.group)
                guard group.exitCode == 0 else { return (.error, "cannot read /etc/group", excerpt(group.stderr)) }
                groups = try groupEntries(group.stdout)
            }
        } catch {
            return (.error, error.message, "")
        }
        if accounts.noEmptyPasswords {
            let emptyPasswords = fact(Collector.emptyPasswords)
            guard emptyPasswords.exitCode == 0 else { return (.error, "cannot read /etc/shadow", excerpt(emptyPasswords.stderr)) }
            let names = lines(emptyPasswords.stdout)
            if !names.isEmpty { problems.append("accounts with an empty password: \(names.joined(separator: ", "))") }
            evidence.append("empty password fields: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        if let allowed = accounts.uidZero {
            let uidZero = users.filter { $0.uid == 0 }.map(\.name)
            let extra = uidZero.filter { !allowed.contains($0) }
            if !extra.isEmpty { problems.append("uid 0 is also held by: \(extra.joined(separator: ", "))") }
            evidence.append("uid 0: \(uidZero.joined(separator: ", "))")
        }
        if let allowed = accounts.gidZero {
            let gidZero = users.filter { $0.gid == 0 }.map(\.name)
            let extra = gidZero.filter { !allowed.contains($0) }
            if !extra.isEmpty { problems.append("primary gid 0 is also held by: \(extra.joined(separator: ", "))") }
            evidence.append("primary gid 0: \(gidZero.joined(separator: ", "))")
        }
        let uniqueness: [(Bool, String, [(value: String, owner: String)])] = [
            (accounts.uniqueUIDs, "duplicate uids", users.map { (String($0.uid), $0.name) }),
            (accounts.uniqueUserNames, "duplicate user names", users.map { ($0.name, "uid \($0.uid)") }),
            (accounts.uniqueGIDs, "duplicate gids", groups.map { (String($0.gid), $0.name) }),
            (accounts.uniqueGroupNames, "duplicate group names", groups.map { ($0.name, "gid \($0.gid)") }),
        ]
        for (wanted, label, pairs) in uniqueness where wanted {
            let found = duplicates(pairs)
            if !found.isEmpty { problems.append("\(label): \(found.joined(separator: "; "))") }
            evidence.append("\(label): \(found.isEmpty ? "none" : found.joined(separator: "; "))")
        }
        if accounts.shadowedPasswords {
            let unshadowed = users.filter { $0.password != "x" }.map(\.name)
            if !unshadowed.isEmpty { problems.append("passwords not in /etc/shadow: \(unshadowed.joined(separator: ", "))") }
            evidence.append("unshadowed: \(unshadowed.isEmpty ? "none" : unshadowed.joined(separator: ", "))")
        }
        if accounts.groupsExist {
            let gids = Set(groups.map(\.gid))
            let orphans = users.filter { !gids.contains($0.gid) }.map { "\($0.name) (gid \($0.gid))" }
            if !orphans.isEmpty { problems.append("primary groups missing from /etc/group: \(orphans.joined(separator: ", "))") }
            evidence.append("missing primary groups: \(orphans.isEmpty ? "none" : orphans.joined(separator: ", "))")
        }
        let summary = evidence.joined(separator: "; ")
        return problems.isEmpty ? (.pass, summary, summary) : (.fail, problems.joined(separator: "; "), summary)
    }

    static func evaluateUser(_ user: UserCheck, passwd: ProbeOutput) -> Outcome {
        guard passwd.exitCode == 0 else { return (.error, "cannot read /etc/passwd", excerpt(passwd.stderr)) }
        let entries: [PasswdEntry]
        do throws(UnexpectedFact) { entries = try passwdEntries(passwd.stdout) } catch { return (.error, error.message, "") }
        guard let entry = entries.first(where: { $0.name == user.name }) else {
            return user.exists ? (.fail, "user \(user.name) does not exist", "no \(user.name) in /etc/passwd")
                : (.pass, "user \(user.name) does not exist", "no \(user.name) in /etc/passwd")
        }
        let evidence = "\(user.name): uid \(entry.uid), gid \(entry.gid), home \(entry.home), shell \(entry.shell)"
        guard user.exists else { return (.fail, "user \(user.name) exists but must not", evidence) }
        var problems: [String] = []
        let fields: [(String, Matcher?, String)] = [("uid", user.uid, String(entry.uid)), ("gid", user.gid, String(entry.gid)),
                                                    ("shell", user.shell, entry.shell), ("home", user.home, entry.home)]
        for (label, matcher, value) in fields {
            if let matcher, !match(matcher, value) { problems.append("\(label) is '\(value)'; expected a value that \(matcher)") }
        }
        return problems.isEmpty ? (.pass, evidence, evidence) : (.fail, "user \(user.name): " + problems.joined(separator: "; "), evidence)
    }

    static func evaluateGroup(_ group: GroupCheck, groups: ProbeOutput) -> Outcome {
        guard groups.exitCode == 0 else { return (.error, "cannot read /etc/group", excerpt(groups.stderr)) }
        let entries: [GroupEntry]
        do throws(UnexpectedFact) { entries = try groupEntries(groups.stdout) } catch { return (.error, error.message, "") }
        guard let entry = entries.first(where: { $0.name == group.name }) else {
            return group.exists ? (.fail, "group \(group.name) does not exist", "no \(group.name) in /etc/group")
                : (.pass, "group \(group.name) does not exist", "no \(group.name) in /etc/group")
        }
        let evidence = "\(group.name): gid \(entry.gid), members: \(entry.members.isEmpty ? "(none)" : entry.members)"
        guard group.exists else { return (.fail, "group \(group.name) exists but must not", evidence) }
        var problems: [String] = []
        if let matcher = group.gid, !match(matcher, String(entry.gid)) { problems.append("gid is '\(entry.gid)'; expected a value that \(matcher)") }
        if let matcher = group.members, !match(matcher, entry.members) {
            problems.append("members are '\(entry.members)'; expected a value that \(matcher)")
        }
        return problems.isEmpty ? (.pass, evidence, evidence) : (.fail, "group \(group.name): " + problems.joined(separator: "; "), evidence)
    }

    // MARK: Find, kernel modules, mounts, ports

    static func evaluateFind(_ find: FindCheck, output: (String) -> ProbeOutput) -> Outcome {
        let under = find.paths.joined(separator: ", ")
        var problems: [String] = [], evidence: [String] = [], passes: [String] = []
        let walk: [(tag: String, path: String)]
        switch walkRecords(output(Collector.findKey(find.paths))) {
        case .success(let records): walk = records
        case .failure(let error): return (.error, "the walk of \(under) did not complete: \(error.message)", "")
        }
        func tagged(_ tag: String) -> [String] { walk.filter { $0.tag == tag }.map(\.path) }
        if find.worldWritable != nil {
            let files = tagged("world-writable")
            if files.isEmpty { passes.append("no world-writable files") } else {
                problems.append("\(files.count) world-writable file(s)")
                evidence.append("world-writable:\n" + files.joined(separator: "\n"))
            }
        }
        if find.unowned != nil {
            let files = tagged("unowned")
            if files.isEmpty { passes.append("no files without a known owner or group") } else {
                problems.append("\(files.count) file(s) without a known owner or group")
                evidence.append("unowned:\n" + files.joined(separator: "\n"))
            }
        }
        if let allowed = find.suidAllowed {
            let files = tagged("setid")
            let unexpected = files.filter { !allowed.contains($0) }
            if unexpected.isEmpty { passes.append("\(files.count) SUID/SGID file(s), all allowed") } else {
                problems.append("\(unexpected.count) SUID/SGID file(s) not in the allow-list: \(unexpected.prefix(5).joined(separator: ", "))\(unexpected.count > 5 ? ", …" : "")")
            }
            evidence.append("SUID/SGID:\n" + (files.isEmpty ? "(none)" : files.joined(separator: "\n")))
        }
        let text = excerpt(evidence.joined(separator: "\n"))
        return problems.isEmpty ? (.pass, passes.joined(separator: "; ") + " under \(under)", text)
            : (.fail, problems.joined(separator: "; ") + " under \(under)", text)
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
                  record.index(after: space) < record.endIndex else {
                return .failure(UnexpectedFact(message: "unexpected record '\(excerpt(String(record), limit: 120))'"))
            }
            walk.append((String(record[..<space]), String(record[record.index(after: space)...])))
        }
        return .success(walk)
    }

    static func evaluateKernelModule(_ module: KernelModuleCheck, facts: Facts) -> Outcome {
        var problems: [String] = [], evidence: [String] = [], notes: [String] = []
        var checked = 0
        if let wanted = module.loadable {
            let key = "kernel-module:\(module.name)"
            if let fact = facts.probes[key] {
                checked += 1
                guard fact.exitCode == 0, let (loadable, why) = modprobeVerdict(fact.stdout, name: module.name) else {
                    return (.error, "cannot tell whether \(module.name) can be loaded", excerpt(fact.stdout + fact.stderr))
                }
                evidence.append(why)
                if loadable != wanted { problems.append(wanted ? "\(module.name) cannot be loaded: \(why)" : "\(module.name) can be loaded: \(why)") }
            } else {
                notes.append(notCollected(Collector.kernelModule(module.name), facts: facts))
            }
        }
        if let wanted = module.loaded ?? (module.loadable == false ? false : nil) {
            if let fact = facts.probes[Collector.loadedModules.key] {
                checked += 1
                // No /proc/modules: the kernel was built without module support, so nothing is loaded.
                let noModuleSupport = fact.exitCode != 0 && fact.stderr.contains("No such file")
                guard fact.exitCode == 0 || noModuleSupport else { return (.error, "cannot read /proc/modules", excerpt(fact.stderr)) }
                let name = module.name.replacingOccurrences(of: "-", with: "_")
                let loaded = lines(fact.stdout).contains { $0.split(separator: " ").first.map(String.init) == name }
                evidence.append(loaded ? "\(module.name) is loaded (/proc/modules)"
                    : "\(module.name) is not loaded" + (noModuleSupport ? " (no /proc/modules: no module support)" : ""))
                if loaded != wanted { problems.append(wanted ? "\(module.name) is not loaded" : "\(module.name) is loaded right now") }
            } else {
                notes.append(facts.source == .rootfs ? "whether it is loaded is not observable in a root filesystem" : "no fact '\(Collector.loadedModules.key)' was collected")
            }
        }
        guard checked > 0 else { return (.notchecked, notes.joined(separator: "; "), "") }
        let note = notes.isEmpty ? "" : " (not checked: \(notes.joined(separator: "; ")))"
        let text = evidence.joined(separator: "; ")
        return problems.isEmpty ? (.pass, text + note, text) : (.fail, problems.joined(separator: "; ") + note, text)
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

    /// Undoes the octal escapes of /proc/self/mounts (`\040` for a space).
    static func unescapeMountField(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "\\"), utf8.count >= 4,
               let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func evaluateMount(_ mount: MountCheck, output: ProbeOutput) -> Outcome {
        guard output.exitCode == 0 else { return (.error, "cannot read /proc/self/mounts", excerpt(output.stderr)) }
        let target = mount.path.count > 1 && mount.path.hasSuffix("/") ? String(mount.path.dropLast()) : mount.path
        let entries = lines(output.stdout).compactMap { line -> (device: String, point: String, type: String, options: [String])? in
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { return nil }
            return (unescapeMountField(fields[0]), unescapeMountField(fields[1]), String(fields[2]), fields[3].split(separator: ",").map(String.init))
        }
        guard !entries.isEmpty else { return (.error, "/proc/self/mounts lists no mount", excerpt(output.stdout + output.stderr)) }
        guard let entry = entries.last(where: { $0.point == target }) else {
            return (.fail, "\(target) is not a separate mount", "no entry for \(target) in /proc/self/mounts")
        }
        let evidence = "\(entry.device) on \(entry.point) type \(entry.type) (\(entry.options.joined(separator: ",")))"
        let missing = mount.options.filter { !entry.options.contains($0) }
        return missing.isEmpty ? (.pass, mount.options.isEmpty ? "\(target) is a separate mount" : "\(target) is mounted with \(mount.options.joined(separator: ","))", evidence)
            : (.fail, "\(target) is mounted without \(missing.joined(separator: ", "))", evidence)
    }

    struct Socket: Equatable {
        var proto: String, address: String, port: Int
    }

    /// What the sockets probe saw: the listening sockets of every table it read, and which tables
    /// the kernel does not have (`== tcp6 absent`: IPv6 is disabled).
    struct SocketTables {
        var listening: [Socket] = []
        var read: Set<String> = []
        var absent: Set<String> = []
    }

    static let socketTables: Set<String> = ["tcp", "tcp6", "udp", "udp6"]

    /// Listening sockets from /proc/net/{tcp,tcp6,udp,udp6}: TCP in LISTEN (0A), UDP bound and
    /// unconnected (07). A row that cannot be read could be the listener, so it is an error.
    static func socketTables(_ text: String) throws(UnexpectedFact) -> SocketTables {
        var tables = SocketTables()
        var table: String?
        var sawHeading = false
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            if line.hasPrefix("== ") {
                let words = line.dropFirst(3).split(separator: " ")
                guard let name = words.first.map(String.init), socketTables.contains(name), words.count <= 2,
                      words.count == 1 || words[1] == "absent", !tables.read.contains(name), !tables.absent.contains(name) else {
                    throw UnexpectedFact(message: "unexpected table heading '\(excerpt(String(line), limit: 80))'")
                }
                if words.count == 2 { tables.absent.insert(name); table = nil } else { tables.read.insert(name); table = name }
                sawHeading = false
                continue
            }
            guard let current = table else { throw UnexpectedFact(message: "unexpected line '\(excerpt(String(line), limit: 120))'") }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if !sawHeading, fields.first == "sl" { sawHeading = true; continue }
            guard fields.count >= 4, fields[0].hasSuffix(":"), fields[0].dropLast().allSatisfy(\.isNumber),
                  let colon = fields[1].lastIndex(of: ":"),
                  let address = decodeAddress(fields[1][..<colon]),
                  let port = hexNumber(fields[1][fields[1].index(after: colon)...], digits: 4),
                  let state = hexNumber(fields[3], digits: 2) else {
                throw UnexpectedFact(message: "unexpected /proc/net/\(current) row '\(excerpt(String(line), limit: 120))'")
            }
            let wanted = current.hasPrefix("tcp") ? 0x0A : 0x07
            if state == wanted { tables.listening.append(Socket(proto: current, address: address, port: port)) }
        }
        return tables
    }

    /// A field of exactly `digits` hexadecimal digits.
    static func hexNumber(_ text: Substring, digits: Int) -> Int? {
        guard text.count == digits, text.allSatisfy(\.isHexDigit) else { return nil }
        return Int(text, radix: 16)
    }

    /// /proc/net addresses are 32-bit words in host (little-endian) byte order: 8 hex digits for
    /// IPv4, 32 for IPv6; anything else is nil.
    static func decodeAddress(_ hex: Substring) -> String? {
        guard hex.count == 8 || hex.count == 32, hex.allSatisfy(\.isHexDigit) else { return nil }
        let digits = Array(hex.utf8)
        var bytes: [UInt8] = []
        for offset in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[offset..<(offset + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        var ordered: [UInt8] = []
        for word in stride(from: 0, to: bytes.count, by: 4) { ordered += bytes[word..<(word + 4)].reversed() }
        if ordered.count == 4 { return ordered.map(String.init).joined(separator: ".") }
        if ordered.allSatisfy({ $0 == 0 }) { return "[::]" }
        let groups = stride(from: 0, to: ordered.count, by: 2).map { String(Int(ordered[$0]) << 8 | Int(ordered[$0 + 1]), radix: 16) }
        return "[" + groups.joined(separator: ":") + "]"
    }

    static func evaluatePort(_ check: PortCheck, output: ProbeOutput) -> Outcome {
        guard output.exitCode == 0 else { return (.error, "cannot read /proc/net (exit \(output.exitCode))", excerpt(output.stderr)) }
        let tables: SocketTables
        do throws(UnexpectedFact) { tables = try socketTables(output.stdout) } catch { return (.error, "cannot read /proc/net: \(error.message)", "") }
        // The IPv4 table always exists; the IPv6 one may be absent (IPv6 disabled), never unread.
        let proto = check.protocol.rawValue
        let unread = [proto, proto + "6"].filter { !tables.read.contains($0) && !($0.hasSuffix("6") && tables.absent.contains($0)) }
        guard unread.isEmpty else {
            return (.error, "/proc/net/\(unread.joined(separator: ", /proc/net/")) was not read", excerpt(output.stderr))
        }
        let all = tables.listening
        let matching = all.filter { $0.proto.hasPrefix(proto) && $0.port == check.port }
        let listening = !matching.isEmpty
        let summary = all.filter { $0.proto.hasPrefix(proto) }.map { "\($0.proto) \($0.address):\($0.port)" }
        let evidence = "listening \(proto): " + (summary.isEmpty ? "none" : Array(Set(summary)).sorted().joined(separator: ", "))
        let label = "\(proto)/\(check.port)"
        switch (check.listening, listening) {
        case (true, true), (false, false):
            return (.pass, listening ? "\(label) is listening" : "nothing listens on \(label)", evidence)
        case (true, false):
            return (.fail, "nothing listens on \(label)", evidence)
        case (false, true):
            return (.fail, "\(label) is listening on \(matching.map(\.address).joined(separator: ", ")) but must not be", evidence)
        }
    }

    static func evaluateCommand(_ command: CommandCheck, output: ProbeOutput) -> Outcome {
        // Without an expected exit code, output is judged only from a command that succeeded: a
        // command that failed or was not found prints nothing, which would satisfy "no output".
        if command.exitCode == nil, output.exitCode != 0 {
            return (.error, "the command failed (exit \(output.exitCode)); its output proves nothing (set exit_code to expect a failure)",
                    "exit \(output.exitCode); stdout: \(excerpt(output.stdout))" + (output.stderr.isEmpty ? "" : "; stderr: \(excerpt(output.stderr))"))
        }
        var problems: [String] = []
        if let expected = command.exitCode, expected != output.exitCode {
            problems.append("exit code \(output.exitCode), expected \(expected)")
        }
        let stdout = String(trimmed(Substring(output.stdout), \.isWhitespace))
        if let matcher = command.stdout, !match(matcher, stdout) {
            problems.append("output does not satisfy: \(matcher)")
        }
        let stderr = String(trimmed(Substring(output.stderr), \.isWhitespace))
        if let matcher = command.stderr, !match(matcher, stderr) {
            problems.append("error output does not satisfy: \(matcher)")
        }
        let evidence = "exit \(output.exitCode); stdout: \(excerpt(stdout))" + (output.stderr.isEmpty ? "" : "; stderr: \(excerpt(output.stderr))")
        return problems.isEmpty ? (.pass, "command succeeded as required", evidence) : (.fail, problems.joined(separator: "; "), evidence)
    }

    static func evaluateReboot(_ reboot: RebootFact?) -> Outcome {
        guard let reboot else { return (.notchecked, "the recipe does not ask for a reboot test (tests.reboot)", "") }
        if let failure = reboot.failure { return (.fail, failure, "boot_id before: \(reboot.bootIDBefore)") }
        guard let after = reboot.bootIDAfter, after != reboot.bootIDBefore else {
            return (.fail, "the guest answered with the same boot_id: it did not reboot", "boot_id: \(reboot.bootIDBefore)")
        }
        let seconds = reboot.secondsToReturn.map { String(format: "%.1f s", $0) } ?? "?"
        return (.pass, "came back with a new boot_id after \(seconds)", "boot_id \(reboot.bootIDBefore) → \(after) in \(seconds)")
    }

    // MARK: Helpers

    static func match(_ matcher: Matcher, _ value: String) -> Bool {
        switch matcher {
        case .equals(let expected): return value == expected
        case .not(let unexpected): return value != unexpected
        case .matches(let pattern): return firstMatch(pattern, in: value) != nil
        case .notMatches(let pattern): return firstMatch(pattern, in: value) == nil
        case .oneOf(let values): return values.contains(value)
        case .compare(let comparison, let bound):
            guard let number = decimalNumber(value) else { return false }
            switch comparison {
            case .lt: return number < bound
            case .le: return number <= bound
            case .gt: return number > bound
            case .ge: return number >= bound
            }
        }
    }

    /// A plain decimal number ("30", "-1", "0.5"); nil for anything else, including what
    /// `Double.init` would also take ("inf", "nan", "0x1e", "1e9").
    static func decimalNumber(_ text: String) -> Double? {
        var digits = Substring(text)
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
        return Double(text)
    }

    /// Policies' patterns, compiled once: a policy file holds few, evaluated against many facts.
    private static let compiledPatterns = Mutex<[String: CompiledPattern]>([:])

    private struct CompiledPattern: @unchecked Sendable {
        // NSRegularExpression is immutable once made, and documented safe to share between threads.
        let regex: NSRegularExpression?
    }

    static func compiledPattern(_ pattern: String) -> NSRegularExpression? {
        if let known = compiledPatterns.withLock({ $0[pattern] }) { return known.regex }
        let compiled = CompiledPattern(regex: try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]))
        compiledPatterns.withLock { $0[pattern] = compiled }
        return compiled.regex
    }

    /// The first line matching the pattern (anchors match at line boundaries), or nil.
    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let regex = compiledPattern(pattern) else { return nil }
        let range = NSRange(text.startIndex..., in: text)
        guard let found = regex.firstMatch(in: text, range: range), let swiftRange = Range(found.range, in: text) else { return nil }
        let lineRange = text.lineRange(for: swiftRange)
        return String(text[lineRange]).trimmingCharacters(in: .newlines)
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { String(trimmed($0, isBlank)) }.filter { !$0.isEmpty }
    }

    /// Blanks as `CharacterSet.whitespaces` has them (spaces and tab, not line ends).
    static func isBlank(_ character: Character) -> Bool { character.isWhitespace && !character.isNewline }

    /// `text` without leading and trailing characters that `isTrimmed`; the same as Foundation's
    /// trimming, which costs a bridge to NSString on every line of every fact.
    static func trimmed(_ text: Substring, _ isTrimmed: (Character) -> Bool) -> Substring {
        guard let first = text.firstIndex(where: { !isTrimmed($0) }), let last = text.lastIndex(where: { !isTrimmed($0) }) else { return "" }
        return text[first...last]
    }

    /// Trims and collapses runs of blanks (sysctl prints tabs between multiple values).
    static func normalizeWhitespace(_ text: String) -> String {
        trimmed(Substring(text), \.isWhitespace).split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// Evidence is kept short in reports; the full facts are in facts.json.
    static func excerpt(_ text: String, limit: Int = 600) -> String {
        let kept = trimmed(Substring(text), \.isWhitespace)
        let head = kept.prefix(limit + 1)
        return head.count <= limit ? String(head) : String(kept.prefix(limit)) + "… (truncated; see facts.json)"
    }
}
