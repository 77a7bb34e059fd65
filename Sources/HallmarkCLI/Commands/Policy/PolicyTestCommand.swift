import ArgumentParser
import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageFacts

#if canImport(Glibc)
    import Glibc
#endif

extension PolicyCommand {
    /// `hallmark policy test`: evaluate without a VM, or run the files' own test cases.
    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Evaluate policies without booting: against a facts.json, against an unpacked root filesystem (static checks), or run the policies' own test cases.",
            discussion: """
                --facts FILE evaluates the facts (the facts.json of a test run) and exits like the gate.

                --rootfs PATH runs the collector's static probes in a chroot of PATH (needs root): an \
                unpacked root filesystem, or a disk image Hallmark built (raw or qcow2 ext4, such as an \
                image's disk.qcow2), mounted read-only in private namespaces; nothing is written to it. \
                Runtime checks (services, live sysctl values, mounts, ports, boot health, reboot, commands \
                marked runtime: true) are notchecked. Exits like the gate.

                With neither, runs the `tests:` of each policy file.

                Exit codes: 0 gate open (every test case passed), 1 gate closed (a test case failed), \
                2 checks could not be evaluated, 64 usage, 65 invalid policy, waiver or facts file, \
                69 missing host tool, 70 internal error, 77 --rootfs without root, 130/143 interrupted.
                """)

        @Argument(help: "Policy files.") var files: [String]
        @Option(help: "facts.json to evaluate (Facts encoded as JSON).") var facts: String?
        @Option(help: "Unpacked root filesystem or ext4 disk image (raw, qcow2) to evaluate static checks against (needs root).")
        var rootfs: String?
        @Option(help: "Lowest severity whose failure closes the gate.") var gate: Severity = .info
        @Option(name: .customLong("tag"), help: "Only controls with this tag (repeatable); a tag no control has is an error.")
        var tags: [String] = []
        @Option(name: .customLong("control"), help: "Only the control with this id (repeatable); an unknown id is an error.")
        var controlIDs: [String] = []
        @Flag(help: "Without --facts or --rootfs, exit 0 when the files have no test cases (default: exit 64).")
        var allowNoCases = false
        @OptionGroup var options: PolicyOptions
        @OptionGroup var output: JSONOutputOption

        /// What `--json` prints after evaluating facts (`mode` facts or rootfs).
        struct Evaluation: Encodable {
            struct Result: Encodable {
                var policy: String
                var control: String
                var severity: String
                var result: String
                var message: String
            }
            struct Gate: Encodable {
                var threshold: String
                var verdict: String
            }
            var mode: String
            var results: [Result]
            var counts: [String: Int]
            var gate: Gate
        }

        /// What `--json` prints after running the files' own test cases (`mode` cases).
        struct CaseRun: Encodable {
            struct Case: Encodable {
                var policy: String
                var name: String
                var passed: Bool
                var location: String
                var mismatches: [String]
            }
            var mode = "cases"
            var cases: [Case] = []
            var passed: Int { cases.filter(\.passed).count }
            var total: Int { cases.count }
            var filesWithoutCases: [String] = []

            private enum CodingKeys: String, CodingKey { case mode, cases, passed, total, filesWithoutCases }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(mode, forKey: .mode)
                try container.encode(cases, forKey: .cases)
                try container.encode(passed, forKey: .passed)
                try container.encode(total, forKey: .total)
                try container.encode(filesWithoutCases, forKey: .filesWithoutCases)
            }
        }

        func validate() throws {
            guard facts == nil || rootfs == nil else { throw ValidationError("give --facts or --rootfs, not both") }
        }

        func run() async throws {
            try await runReportingErrors {
                let overrides = try options.overrides()
                var policies = try Policy.loadAll(paths: files.map(absolutePath), variables: overrides)
                let waivers = try options.loadWaivers(for: policies)
                policies = try Policy.select(policies, tags: tags, ids: controlIDs)

                let observed: Facts
                if let facts {
                    observed = try readFacts(absolutePath(facts))
                } else if let rootfs {
                    observed = try await collect(rootfs: absolutePath(rootfs), controls: policies.flatMap(\.controls))
                } else {
                    return try runOwnTests(policies, waivers: waivers)
                }

                let results = Evaluator.evaluate(policies, facts: observed, waivers: waivers, today: Date())
                let verdict = Gate.verdict(results, threshold: gate)
                let evaluation = Evaluation(
                    mode: facts != nil ? "facts" : "rootfs",
                    results: results.map {
                        .init(
                            policy: $0.policyID, control: $0.control.id, severity: $0.control.severity.rawValue, result: $0.status.rawValue,
                            message: $0.message)
                    },
                    counts: Dictionary(results.map { ($0.status.rawValue, 1) }, uniquingKeysWith: +),
                    gate: .init(threshold: gate.rawValue, verdict: verdict.rawValue))
                if output.json {
                    try printJSON(evaluation)
                } else {
                    printText(evaluation)
                }
                return ExitStatus(verdict)
            }
        }

        func printText(_ evaluation: Evaluation) {
            for result in evaluation.results {
                print(
                    "\(result.result.uppercased().padding(toLength: 13, withPad: " ", startingAt: 0)) [\(result.severity)] \(result.policy)/\(result.control): \(UntrustedText.forTerminal(result.message))"
                )
            }
            let counts = ResultStatus.allCases.compactMap { status in
                evaluation.counts[status.rawValue].map { "\($0) \(status.rawValue)" }
            }
            print(
                "\(evaluation.results.count) controls: \(counts.joined(separator: ", ")); gate (\(evaluation.gate.threshold)): \(evaluation.gate.verdict)"
            )
        }

        func readFacts(_ path: String) throws -> Facts {
            let data = try UserFile.read(path, what: "facts")
            do { return try JSONDecoder.hallmark.decode(Facts.self, from: data) } catch {
                throw HallmarkError.invalidInput(
                    "not a facts.json (\(UserFile.decodingProblem(error))); expected {\"probes\": {key: {exitCode, stdout, stderr}}, \"reboot\": …}",
                    at: SourceLocation(file: path))
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

        func runOwnTests(_ policies: [Policy], waivers: Waivers?) throws -> ExitStatus {
            var run = CaseRun()
            for policy in policies {
                if policy.tests.isEmpty { run.filesWithoutCases.append(policy.path) }
                for outcome in PolicyTestRunner.run(policy, waivers: waivers) {
                    run.cases.append(
                        .init(
                            policy: policy.id, name: outcome.name, passed: outcome.passed, location: "\(outcome.location)",
                            mismatches: outcome.mismatches))
                }
            }
            // Nothing tested is not a pass, unless asked for (a directory of policies without cases, say).
            guard run.total > 0 || allowNoCases else {
                if !output.json { for path in run.filesWithoutCases { print("\(path): no test cases") } }
                throw HallmarkError(
                    .usage,
                    "no test cases: none of the policy files has a 'tests:' section; give --facts or --rootfs to evaluate them, or --allow-no-cases to accept none"
                )
            }
            if output.json {
                try printJSON(run)
            } else {
                for path in run.filesWithoutCases { print("\(path): no test cases") }
                for testCase in run.cases {
                    if testCase.passed {
                        print("ok    \(testCase.policy): \(testCase.name)")
                    } else {
                        print("FAIL  \(testCase.policy): \(testCase.name) (\(testCase.location))")
                        for mismatch in testCase.mismatches { print("        \(mismatch)") }
                    }
                }
                print("\(run.passed)/\(run.total) test case(s) passed")
            }
            return run.passed == run.total ? .gateOpen : .gateClosed
        }
    }
}
