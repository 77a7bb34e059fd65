import Attestation
import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Pipeline

/// No input makes a loader or an evaluator trap or hang: mutated recipes, components, policies,
/// waivers, facts files and envelopes either load or throw a `HallmarkError`, each within a time
/// limit. `HALLMARK_FUZZ_SEED` and `HALLMARK_FUZZ_ITERATIONS` change the run (the seed is printed
/// with every finding, so a failure can be replayed).
@Suite(.serialized) struct InputFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seed = environment["HALLMARK_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x4841_4C4D_4152_4B21
    static let iterations = environment["HALLMARK_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 1200
    /// Generous for a debug build on a busy machine; a loop that does not end blows far past it.
    static let timeLimit = Duration.seconds(5)

    enum Kind: CaseIterable {
        case recipe, component, policy, waivers, facts, envelope
    }

    /// Values that break parsers: numbers at and past the edges, nesting, templates, YAML's own syntax.
    static let tokens: [String] = [
        "99999999999", "99999999999G", "18446744073709551616", "9223372036854775807", "-9223372036854775809", "-1", "-5", "0",
        "1e999", "0x10", "4294967296", "2147483648", "-2147483649", "nan", "~", "null", "\"\"", "''", "{}", "[]", "{{ x }}", "{{",
        "}}", "{{ Missing }}", "{{ build.x.outputs.stdout }}", "&a", "*a", "!!binary", "!!python/object", "\"", "'", "\t", "\0",
        "\r", "\u{FEFF}", "é", "🙂", ": ", "- ", "? ", "---\n", "...\n", "#", "%YAML 1.2\n", "|\n", ">-\n", "1900-02-30", "2027-13-01",
        String(repeating: "a", count: 5000), String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        String(repeating: "{a: ", count: 200) + "1" + String(repeating: "}", count: 200),
        String(repeating: "- ", count: 150) + "x", "../../../../etc/passwd", "/dev/zero", "\\u0000", "\\xff",
    ]
    static let tokenBytes = tokens.map { Array($0.utf8) }

    /// A few edits of a seed: bytes flipped or inserted (broken UTF-8 included), the end cut off,
    /// lines dropped, doubled, swapped or re-indented, a value replaced by a token.
    static func mutate(_ seed: [UInt8], _ generator: inout SeededGenerator) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            let position = Int.random(in: 0...bytes.count, using: &generator)
            var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
            let line = Int.random(in: 0..<max(lines.count, 1), using: &generator)
            switch Int.random(in: 0..<9, using: &generator) {
            case 0 where position < bytes.count:
                bytes[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
            case 1:
                bytes.removeSubrange(position...)
            case 2 where line < lines.count:
                lines.remove(at: line)
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 3 where line < lines.count:
                lines.insert(lines[line], at: line)
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 4 where lines.count > 1:
                lines.swapAt(line, Int.random(in: 0..<lines.count, using: &generator))
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 5 where line < lines.count:
                let indent: [UInt8] = [[0x20, 0x20], [0x09], [0x20]][Int.random(in: 0..<3, using: &generator)]
                if Bool.random(using: &generator) {
                    lines[line].insert(contentsOf: indent, at: 0)
                } else {
                    lines[line].removeFirst(min(2, lines[line].count))
                }
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 6 where line < lines.count:
                // The value of a `key: value` line, or the item of a `- item` line.
                let token = tokenBytes[Int.random(in: 0..<tokenBytes.count, using: &generator)]
                if let colon = lines[line].firstIndex(of: UInt8(ascii: ":")) {
                    lines[line] = Array(lines[line][...colon]) + [0x20] + token
                } else {
                    lines[line] += token
                }
                bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            case 7:
                bytes.insert(UInt8.random(in: 0x80...0xFF, using: &generator), at: position)
            default:
                bytes.insert(contentsOf: tokenBytes[Int.random(in: 0..<tokenBytes.count, using: &generator)], at: position)
            }
        }
        return bytes
    }

    /// The seeds, written once into a scratch tree laid out like the repository, so relative paths resolve.
    struct Corpus {
        let root: String
        let files: [Kind: String]
        let seeds: [Kind: [UInt8]]
        let publicKey: VerifyingKey

        init() throws {
            root = FileManager.default.temporaryDirectory.path + "/hallmark-input-fuzz-\(UUID().uuidString.prefix(8))"
            for directory in ["recipes", "components", "policies", "waivers", "facts"] {
                try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
            }
            let recipe = """
                name: fuzz
                version: 1.0.0
                parent:
                  debian: {suite: bookworm, packages: [openssh-server], mirror: "http://deb.debian.org/debian"}
                components:
                  - path: ../components/ssh-hardening.yaml
                    parameters: {PermitRootLogin: "no"}
                  - path: ../components/sysctl-hardening.yaml
                tests:
                  reboot: true
                  policies: [../policies/image-health.yaml, ../policies/debian-baseline.yaml]
                  waivers: ../waivers/waivers.yaml
                  gate: high
                outputs: [qcow2]
                disk: {size: 4G}
                evidence: {junit: rich}

                """
            let waivers = """
                waivers:
                  - control: sshd-permit-root-login
                    justification: "fuzzing"
                    expires: 2027-06-30
                    mode: run

                """
            let facts = """
                {"probes": {"sshd": {"exitCode": 0, "stdout": "permitrootlogin no\\nmaxauthtries 4\\n", "stderr": ""},
                 "passwd": {"exitCode": 0, "stdout": "root:x:0:0:root:/root:/bin/bash\\n", "stderr": ""},
                 "packages": {"exitCode": 0, "stdout": "openssh-server\\tii \\t1:9.2p1-2\\n", "stderr": ""}},
                 "reboot": {"bootIDBefore": "a", "bootIDAfter": "b", "secondsToReturn": 12.5}, "source": "guest"}

                """
            let key = SigningKey.generate()
            publicKey = key.publicKey
            let report =
                #"{"schemaVersion": 1, "image": {"name": "fuzz", "version": "1.0.0", "build": 1}, "gate": {"threshold": "info", "verdict": "pass"}}"#
            let envelope = try Attestation.signReport(
                reportJSON: Data(report.utf8),
                subjects: [Subject(name: "fuzz-1.0.0-1/disk.qcow2", sha256: String(repeating: "a", count: 64))],
                key: key)
            let sources: [(Kind, String, [UInt8])] = [
                (.recipe, "recipes/fuzz.yaml", Array(recipe.utf8)),
                (.component, "components/ssh-hardening.yaml", try Self.repositoryFile("components/ssh-hardening.yaml")),
                (.policy, "policies/image-health.yaml", try Self.repositoryFile("policies/image-health.yaml")),
                (.waivers, "waivers/waivers.yaml", Array(waivers.utf8)),
                (.facts, "facts/facts.json", Array(facts.utf8)),
                (.envelope, "facts/report.dsse.json", Array(envelope)),
            ]
            for extra in ["components/sysctl-hardening.yaml", "policies/debian-baseline.yaml"] {
                try Data(try Self.repositoryFile(extra)).write(to: URL(fileURLWithPath: root + "/" + extra))
            }
            var files: [Kind: String] = [:]
            var seeds: [Kind: [UInt8]] = [:]
            for (kind, path, bytes) in sources {
                files[kind] = root + "/" + path
                seeds[kind] = bytes
                try Data(bytes).write(to: URL(fileURLWithPath: root + "/" + path))
            }
            (self.files, self.seeds) = (files, seeds)
        }

        static func repositoryFile(_ path: String) throws -> [UInt8] {
            [UInt8](try Data(contentsOf: URL(fileURLWithPath: Repository.root + "/" + path)))
        }

        /// Loads (and evaluates, where there is something to evaluate) the tree with `kind`'s file as it is now.
        func exercise(_ kind: Kind) async throws {
            switch kind {
            case .recipe, .component, .waivers:
                let loaded = try LoadedRecipe.load(path: files[.recipe]!)
                _ = loaded.evaluate(Facts(probes: [:]), today: Date())
            case .policy:
                for policy in try Policy.loadAll(paths: [files[.policy]!]) {
                    _ = PolicyTestRunner.run(policy)
                }
            case .facts:
                let data = try UserFile.read(files[.facts]!, what: "facts")
                let facts: Facts
                do { facts = try JSONDecoder.hallmark.decode(Facts.self, from: data) } catch {
                    throw HallmarkError.invalidInput(UserFile.decodingProblem(error))
                }
                for policy in try Policy.loadAll(paths: [root + "/policies/debian-baseline.yaml"]) {
                    _ = Evaluator.evaluate(policy, facts: facts)
                }
            case .envelope:
                let data = try UserFile.read(files[.envelope]!, what: "envelope")
                _ = try await Attestation.verify(
                    envelope: data, publicKey: publicKey, requirements: VerificationRequirements(coverage: .nothing, imageName: "fuzz"))
            }
        }
    }

    @Test(.timeLimit(.minutes(2))) func everyMutatedInputLoadsOrThrowsAHallmarkError() async throws {
        let corpus = try Corpus()
        defer { try? FileManager.default.removeItem(atPath: corpus.root) }
        var generator = SeededGenerator(state: Self.seed)
        var outcomes: [String: Int] = [:]
        var slowest = Duration.zero
        for iteration in 0..<Self.iterations {
            let kind = Kind.allCases[iteration % Kind.allCases.count]
            let path = corpus.files[kind]!
            let input = Self.mutate(corpus.seeds[kind]!, &generator)
            try Data(input).write(to: URL(fileURLWithPath: path))
            let replay = "seed \(Self.seed), iteration \(iteration), \(kind): \(String(decoding: input.prefix(300), as: UTF8.self))"
            let started = ContinuousClock.now
            do {
                try await corpus.exercise(kind)
                outcomes["loaded", default: 0] += 1
            } catch let error as HallmarkError {
                outcomes["\(error.code)", default: 0] += 1
                let text = error.description
                #expect(
                    !text.contains("NSCocoaErrorDomain") && !text.contains("couldn’t be") && !text.contains("Error Domain="),
                    "\(replay)\n\(text)")
                if error.message.hasPrefix("invalid YAML") || error.message.hasPrefix("duplicate key") {
                    #expect(error.location?.line != nil, "a YAML syntax error without a line: \(replay)\n\(text)")
                }
            } catch {
                Issue.record("not a HallmarkError: \(error) (\(replay))")
            }
            let elapsed = ContinuousClock.now - started
            slowest = max(slowest, elapsed)
            #expect(elapsed < Self.timeLimit, "took \(elapsed): \(replay)")
            try Data(corpus.seeds[kind]!).write(to: URL(fileURLWithPath: path))
        }
        print("input fuzz: \(Self.iterations) inputs (seed \(Self.seed)), slowest \(slowest): \(outcomes.sorted { $0.key < $1.key })")
        // The seeds themselves are valid, so the mutations are what the loaders refuse.
        #expect(outcomes["loaded", default: 0] > 0)
    }

    @Test func theSeedsLoad() async throws {
        let corpus = try Corpus()
        defer { try? FileManager.default.removeItem(atPath: corpus.root) }
        for kind in Kind.allCases { try await corpus.exercise(kind) }
    }
}
