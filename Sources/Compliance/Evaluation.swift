import Foundation
import HallmarkModel
import HallmarkSupport

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
        return ControlResult(
            control: control, policyID: "component-tests", status: failure == nil ? .pass : .fail,
            message: failure ?? "every step of the test phase succeeded", evidence: failure.map { excerpt($0) } ?? "")
    }

    public static func evaluate(_ policy: Policy, facts: Facts) -> [ControlResult] {
        policy.controls.map { control in
            let (status, message, evidence) = evaluate(control.check, facts: facts)
            return ControlResult(control: control, policyID: policy.id, status: status, message: message, evidence: evidence)
        }
    }

    public static func verdict(_ results: [ControlResult], threshold: Severity) -> Verdict {
        let gating = results.filter { $0.control.severity >= threshold }
        if gating.contains(where: { $0.status == .fail }) { return .fail }
        if gating.contains(where: { $0.status == .error || $0.status == .notchecked }) { return .incomplete }
        return .pass
    }

    typealias Outcome = (ResultStatus, String, String)

    static func evaluate(_ check: Check, facts: Facts) -> Outcome {
        switch check {
        case .reboot: return evaluateReboot(facts.reboot)
        default: break
        }
        let probes = Collector.requiredProbes(check)
        if let missing = probes.first(where: { facts.probes[$0.key] == nil }) {
            return (.notchecked, "no fact '\(missing.key)' was collected", "")
        }
        let output = { (key: String) in facts.probes[key]! }
        switch check {
        case .file(let file): return evaluateFile(file, output: output)
        case .package(let package): return evaluatePackage(package, output: output(Collector.packages.key))
        case .service(let service): return evaluateService(service, output: output("service:\(service.name)"))
        case .sysctl(let sysctl):
            let fact = output("sysctl:\(sysctl.key)")
            guard fact.exitCode == 0 else { return (.error, "sysctl \(sysctl.key) cannot be read", excerpt(fact.stderr)) }
            let value = normalizeWhitespace(fact.stdout)
            return match(sysctl.value, value) ? (.pass, "\(sysctl.key) = \(value)", "\(sysctl.key) = \(value)")
                : (.fail, "\(sysctl.key) is \(value); expected a value that \(sysctl.value)", "\(sysctl.key) = \(value)")
        case .sshd(let sshd): return evaluateSshd(sshd, output: output("sshd"))
        case .accounts(let accounts):
            return evaluateAccounts(accounts, passwd: output("passwd"), emptyPasswords: output("shadow-empty-passwords"))
        case .find(let find):
            let fact = output("world-writable:\(find.paths.joined(separator: ","))")
            let files = lines(fact.stdout)
            return files.isEmpty ? (.pass, "no world-writable files under \(find.paths.joined(separator: ", "))", "")
                : (.fail, "\(files.count) world-writable file(s) under \(find.paths.joined(separator: ", "))", excerpt(files.joined(separator: "\n")))
        case .bootHealth:
            let fact = output("failed-units")
            let failed = lines(fact.stdout)
            let state = normalizeWhitespace(output(Collector.systemState.key).stdout)
            return failed.isEmpty ? (.pass, "no failed units (system state: \(state))", "systemctl --failed: (empty); state: \(state)")
                : (.fail, "\(failed.count) failed unit(s)", excerpt(failed.joined(separator: "\n")))
        case .command(let command): return evaluateCommand(command, output: output("command:\(command.run)"))
        case .reboot: fatalError("handled above")
        }
    }

    static func evaluateFile(_ file: FileCheck, output: (String) -> ProbeOutput) -> Outcome {
        let stat = output("file:\(file.path)")
        guard stat.exitCode == 0 else {
            if stat.stderr.contains("No such file") {
                return file.exists ? (.fail, "\(file.path) does not exist", excerpt(stat.stderr)) : (.pass, "\(file.path) does not exist", "absent")
            }
            return (.error, "cannot stat \(file.path)", excerpt(stat.stderr))
        }
        let parts = normalizeWhitespace(stat.stdout).split(separator: "|").map(String.init)
        guard parts.count == 4, let mode = UInt16(parts[3], radix: 8) else { return (.error, "unexpected stat output", excerpt(stat.stdout)) }
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
            let actual = output("sha256:\(file.path)").stdout.split(separator: " ").first.map(String.init) ?? ""
            if actual.lowercased() != expected.lowercased() { problems.append("sha256 is \(actual), expected \(expected)") }
        }
        if file.needsContent {
            let content = output("content:\(file.path)").stdout
            for pattern in file.contains where firstMatch(pattern, in: content) == nil {
                problems.append("content does not match /\(pattern)/")
            }
            for pattern in file.notContains {
                if let line = firstMatch(pattern, in: content) { problems.append("content matches /\(pattern)/ in line: \(line)") }
            }
        }
        return problems.isEmpty ? (.pass, "\(file.path) is as required", evidence)
            : (.fail, problems.joined(separator: "; "), evidence)
    }

    static func evaluatePackage(_ package: PackageCheck, output: ProbeOutput) -> Outcome {
        guard output.exitCode == 0 else { return (.error, "dpkg-query failed", excerpt(output.stderr)) }
        let entry = lines(output.stdout).first { $0.split(separator: "\t").first.map(String.init) == package.name }
        let fields = entry?.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) ?? []
        let installed = fields.count >= 3 && fields[1].hasPrefix("ii")
        let evidence = installed ? "\(package.name) \(fields[2]) installed" : "\(package.name) not installed"
        switch (package.installed, installed) {
        case (true, true): return (.pass, evidence, evidence)
        case (false, false): return (.pass, evidence, evidence)
        case (true, false): return (.fail, "\(package.name) is not installed but must be", evidence)
        case (false, true): return (.fail, "\(package.name) is installed but must not be", evidence)
        }
    }

    static func evaluateService(_ service: ServiceCheck, output: ProbeOutput) -> Outcome {
        var states: [String: String] = [:]
        for line in lines(output.stdout) {
            let pair = line.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { states[pair[0]] = pair[1] } else if pair.count == 1 { states[pair[0]] = "" }
        }
        let enabled = states["enabled"] ?? "", active = states["active"] ?? ""
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

    static func evaluateAccounts(_ accounts: AccountsCheck, passwd: ProbeOutput, emptyPasswords: ProbeOutput) -> Outcome {
        var problems: [String] = [], evidence: [String] = []
        if accounts.noEmptyPasswords {
            guard emptyPasswords.exitCode == 0 else { return (.error, "cannot read /etc/shadow", excerpt(emptyPasswords.stderr)) }
            let users = lines(emptyPasswords.stdout)
            if !users.isEmpty { problems.append("accounts with an empty password: \(users.joined(separator: ", "))") }
            evidence.append("empty password fields: \(users.isEmpty ? "none" : users.joined(separator: ", "))")
        }
        if let allowed = accounts.uidZero {
            guard passwd.exitCode == 0 else { return (.error, "cannot read /etc/passwd", excerpt(passwd.stderr)) }
            let uidZero = lines(passwd.stdout).compactMap { line -> String? in
                let fields = line.split(separator: ":", omittingEmptySubsequences: false)
                return fields.count > 2 && fields[2] == "0" ? String(fields[0]) : nil
            }
            let extra = uidZero.filter { !allowed.contains($0) }
            if !extra.isEmpty { problems.append("uid 0 is also held by: \(extra.joined(separator: ", "))") }
            evidence.append("uid 0: \(uidZero.joined(separator: ", "))")
        }
        let summary = evidence.joined(separator: "; ")
        return problems.isEmpty ? (.pass, summary, summary) : (.fail, problems.joined(separator: "; "), summary)
    }

    static func evaluateCommand(_ command: CommandCheck, output: ProbeOutput) -> Outcome {
        var problems: [String] = []
        if let expected = command.exitCode, expected != output.exitCode {
            problems.append("exit code \(output.exitCode), expected \(expected)")
        }
        let stdout = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if let matcher = command.stdout, !match(matcher, stdout) {
            problems.append("output does not satisfy: \(matcher)")
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
        case .oneOf(let values): return values.contains(value)
        case .compare(let comparison, let bound):
            guard let number = Double(value) else { return false }
            switch comparison {
            case .lt: return number < bound
            case .le: return number <= bound
            case .gt: return number > bound
            case .ge: return number >= bound
            }
        }
    }

    /// The first line matching the pattern (anchors match at line boundaries), or nil.
    static func firstMatch(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { return nil }
        let range = NSRange(text.startIndex..., in: text)
        guard let found = regex.firstMatch(in: text, range: range), let swiftRange = Range(found.range, in: text) else { return nil }
        let lineRange = text.lineRange(for: swiftRange)
        return String(text[lineRange]).trimmingCharacters(in: .newlines)
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func normalizeWhitespace(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\t", with: " ")
    }

    /// Evidence is kept short in reports; the full facts are in facts.json.
    static func excerpt(_ text: String, limit: Int = 600) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.count <= limit ? trimmed : String(trimmed.prefix(limit)) + "… (truncated; see facts.json)"
    }
}
