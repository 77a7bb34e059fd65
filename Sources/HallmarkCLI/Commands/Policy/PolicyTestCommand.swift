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

        func validate() throws {
            guard facts == nil || rootfs == nil else { throw ValidationError("give --facts or --rootfs, not both") }
        }

        func run() async throws {
            try await runReportingErrors {
                let overrides = try options.overrides()
                var policies = try Policy.loadAll(paths: files.map(absolutePath), variables: overrides)
                let waivers = try options.loadWaivers(for: policies)
                if !tags.isEmpty {
                    policies = policies.map {
                        var policy = $0; policy.controls = policy.controls(taggedWithAnyOf: tags); return policy
                    }
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
                    print(
                        "\(result.status.rawValue.uppercased().padding(toLength: 13, withPad: " ", startingAt: 0)) [\(result.control.severity.rawValue)] \(result.policyID)/\(result.control.id): \(UntrustedText.forTerminal(result.message))"
                    )
                }
                let counts = ResultStatus.allCases.compactMap { status -> String? in
                    let count = results.filter { $0.status == status }.count
                    return count > 0 ? "\(count) \(status.rawValue)" : nil
                }
                let verdict = Evaluator.verdict(results, threshold: gate)
                print("\(results.count) controls: \(counts.joined(separator: ", ")); gate (\(gate.rawValue)): \(verdict.rawValue)")
                return ExitStatus(verdict)
            }
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
