import ArgumentParser
import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageFacts
#if canImport(Glibc)
import Glibc
#endif

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Work with policy files without booting anything.", subcommands: [Lint.self, Test.self])

    /// Options shared by lint and test: variable overrides and a waiver file.
    struct PolicyOptions: ParsableArguments {
        @Option(name: .customLong("var"), help: ArgumentHelp("Override a policy variable (repeatable).", valueName: "name=value"))
        var variables: [String] = []

        @Option(help: "Waiver file to validate against the policies (and apply, for test).")
        var waivers: String?

        func overrides() throws -> [String: String] {
            var result: [String: String] = [:]
            for assignment in variables {
                let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
                guard parts.count == 2, !parts[0].isEmpty else {
                    throw HallmarkError(.usage, "--var needs name=value, got '\(assignment)'")
                }
                result[parts[0]] = parts[1]
            }
            return result
        }

        func loadWaivers(for policies: [Policy]) throws -> Waivers? {
            guard let waivers else { return nil }
            let loaded = try Waivers.load(path: absolutePath(waivers))
            try loaded.validate(against: policies.flatMap { $0.controls.map(\.id) })
            return loaded
        }
    }

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check policy files and what they include: schema, unknown keys, duplicate ids, bad regular expressions, include cycles, variables (file:line:column). Exit 65 on any problem.")

        @Argument(help: "Policy files.") var files: [String]
        @OptionGroup var options: PolicyOptions

        func run() async throws {
            try await runReportingErrors {
                let overrides = try options.overrides()
                var problems = 0
                var policies: [Policy] = []
                for file in files {
                    let (policy, errors) = Policy.lint(path: absolutePath(file), variables: overrides)
                    for error in errors { print("\(error)") }
                    problems += errors.count
                    if let policy, errors.isEmpty {
                        policies.append(policy)
                        let included = policy.includedFiles.isEmpty ? "" : ", \(policy.includedFiles.count) included file(s)"
                        print("\(file): ok (\(policy.controls.count) controls\(included), \(policy.tests.count) test case(s))")
                    }
                }
                if problems == 0 {
                    let unknown = Policy.undeclared(overrides, in: policies)
                    if !unknown.isEmpty {
                        print("--var: not declared by any policy: \(unknown.joined(separator: ", "))")
                        problems += unknown.count
                    }
                    do {
                        if let waivers = try options.loadWaivers(for: policies) { print("\(waivers.path): ok (\(waivers.waivers.count) waivers)") }
                    } catch let error as HallmarkError {
                        print("\(error)")
                        problems += 1
                    }
                }
                if problems > 0 { print("\(problems) problem(s)") }
                return problems > 0 ? .invalidInput : .gateOpen
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate policies without booting: against a facts.json, against an unpacked root filesystem (static checks), or run the policies' own test cases.",
            discussion: """
                --facts FILE   evaluates the facts (the facts.json of a test run) and exits like the gate: 0 pass, 1 fail, 2 incomplete.
                --rootfs PATH  runs the collector's static probes in a chroot of PATH (needs root): an unpacked root filesystem,
                               or a disk image Hallmark built (raw or qcow2 ext4, such as an image's disk.qcow2), mounted
                               read-only in private namespaces; nothing is written to it. Runtime checks (services, live
                               sysctl values, mounts, ports, boot health, reboot, commands marked runtime: true) are
                               notchecked. Exits like the gate.
                neither        runs the `tests:` of each policy file: 0 when every expectation holds, 1 otherwise.
                """)

        @Argument(help: "Policy files.") var files: [String]
        @Option(help: "facts.json to evaluate (Facts encoded as JSON).") var facts: String?
        @Option(help: "Unpacked root filesystem or ext4 disk image (raw, qcow2) to evaluate static checks against (needs root).")
        var rootfs: String?
        @Option(help: "Lowest severity whose failure closes the gate.") var gate: Severity = .info
        @Option(name: .customLong("tag"), help: "Only controls with this tag (repeatable).") var tags: [String] = []
        @OptionGroup var options: PolicyOptions

        func run() async throws {
            try await runReportingErrors {
                guard facts == nil || rootfs == nil else { throw HallmarkError(.usage, "give --facts or --rootfs, not both") }
                let overrides = try options.overrides()
                var policies = try Policy.loadAll(paths: files.map(absolutePath), variables: overrides)
                let waivers = try options.loadWaivers(for: policies)
                if !tags.isEmpty {
                    policies = policies.map { var policy = $0; policy.controls = policy.controls(taggedWithAnyOf: tags); return policy }
                }

                let observed: Facts
                if let facts {
                    observed = try readFacts(absolutePath(facts))
                } else if let rootfs {
                    observed = try await collect(rootfs: absolutePath(rootfs), controls: policies.flatMap(\.controls))
                } else {
                    return runOwnTests(policies, waivers: waivers)
                }

                let today = Date()
                let results = policies.flatMap { policy in
                    waivers.map { Evaluator.evaluate(policy, facts: observed, waivers: $0, today: today) }
                        ?? Evaluator.evaluate(policy, facts: observed)
                }
                for result in results {
                    print("\(result.status.rawValue.uppercased().padding(toLength: 13, withPad: " ", startingAt: 0)) [\(result.control.severity.rawValue)] \(result.policyID)/\(result.control.id): \(UntrustedText.forTerminal(result.message))")
                }
                let counts = ResultStatus.allCases.compactMap { status -> String? in
                    let count = results.filter { $0.status == status }.count
                    return count > 0 ? "\(count) \(status.rawValue)" : nil
                }
                let verdict = Evaluator.verdict(results, threshold: gate)
                print("\(results.count) controls: \(counts.joined(separator: ", ")); gate (\(gate.rawValue)): \(verdict.rawValue)")
                switch verdict {
                case .pass: return .gateOpen
                case .fail: return .gateClosed
                case .incomplete: return .notEvaluated
                }
            }
        }

        func readFacts(_ path: String) throws -> Facts {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw HallmarkError.invalidInput("cannot read facts: \(error.localizedDescription)", at: SourceLocation(file: path))
            }
            do { return try JSONDecoder.hallmark.decode(Facts.self, from: data) } catch {
                throw HallmarkError.invalidInput("not a facts.json ({\"probes\": {key: {exitCode, stdout, stderr}}, \"reboot\": …}): \(error)", at: SourceLocation(file: path))
            }
        }

        /// Runs the static probes in one chroot of the root filesystem or disk image, read-only.
        func collect(rootfs: String, controls: [Control]) async throws -> Facts {
            let root = try ImageRoot(path: rootfs)
            let plan = CollectorPlan(probes: Collector.probes(for: controls, source: .rootfs))
            let home = HallmarkHome.fromEnvironment()
            let scratch = try home.makeScratchDirectory(under: home.work, prefix: "policy-test-")
            ChildRegistry.shared.addDirectory(scratch)
            defer {
                try? FileManager.default.removeItem(atPath: scratch)
                ChildRegistry.shared.removeDirectory(scratch)
            }
            return Facts(probes: try await ImageCollector(scratch: scratch).collect(plan, from: root), reboot: nil, source: .rootfs)
        }

        func runOwnTests(_ policies: [Policy], waivers: Waivers?) -> ExitStatus {
            var total = 0, failed = 0
            for policy in policies {
                if policy.tests.isEmpty { print("\(policy.path): no test cases") }
                for outcome in PolicyTestRunner.run(policy, waivers: waivers) {
                    total += 1
                    if outcome.passed {
                        print("ok    \(policy.id): \(outcome.name)")
                    } else {
                        failed += 1
                        print("FAIL  \(policy.id): \(outcome.name) (\(outcome.location))")
                        for mismatch in outcome.mismatches { print("        \(mismatch)") }
                    }
                }
            }
            print("\(total - failed)/\(total) test case(s) passed")
            return failed == 0 ? .gateOpen : .gateClosed
        }
    }
}
