import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// Every malformed input of Tests/Fixtures/bad-inputs (made by scripts/make-bad-inputs.py) through
/// the real binary, with stand-ins for mmdebstrap and QEMU that record a call and fail, in a fresh
/// HALLMARK_HOME each: no crash, no hang, nothing bootstrapped, built or booted, the documented
/// exit code, the position in the file, and the one error shape on stderr.
@Suite(.tags(.binary)) struct BadInputCorpusTests {
    static let corpus = Repository.fixtures + "/bad-inputs"
    static let timeout = Duration.seconds(10)
    static let concurrency = 4
    static let standIns = ["mmdebstrap", "qemu-system-x86_64", "qemu-img"]

    struct Row: Sendable {
        var id, kind: String
        var arguments: [String]
        var exit: Int32
        var position, status, setup, note: String

        static func load() throws -> [Row] {
            let text = try String(contentsOfFile: corpus + "/manifest.tsv", encoding: .utf8)
            return try text.split(separator: "\n").dropFirst().map { line in
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                try #require(fields.count == 8, "manifest row: \(line)")
                let arguments = try JSONDecoder().decode([String].self, from: Data(fields[2].utf8))
                return Row(
                    id: fields[0], kind: fields[1], arguments: arguments, exit: try #require(Int32(fields[3])), position: fields[4],
                    status: fields[5], setup: fields[6], note: fields[7])
            }
        }
    }

    struct Outcome: Sendable {
        var row: Row
        var termination: Termination?
        var errors: String
        var standInsCalled: [String]
        var problems: [String]
    }

    @Test func everyBadInputIsRefusedWithItsExitCodeAndPosition() async throws {
        let rows = try Row.load()
        #expect(rows.count >= 300)
        let root = FileManager.default.temporaryDirectory.path + "/hallmark-bad-inputs-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A copy, so setups (FIFOs, modes) and whatever a run writes stay out of the repository.
        for part in ["base", "cases"] { try FileManager.default.copyItem(atPath: Self.corpus + "/" + part, toPath: root + "/" + part) }

        for index in rows.indices { try Self.prepareScratch(root: root, index: index) }
        let started = ContinuousClock.now
        var outcomes: [Outcome] = []
        try await withThrowingTaskGroup(of: Outcome.self) { group in
            var next = 0
            for _ in 0..<Self.concurrency where next < rows.count {
                let (row, index) = (rows[next], next)
                group.addTask { try await Self.run(row, root: root, index: index) }
                next += 1
            }
            while let outcome = try await group.next() {
                outcomes.append(outcome)
                if next < rows.count {
                    let (row, index) = (rows[next], next)
                    group.addTask { try await Self.run(row, root: root, index: index) }
                    next += 1
                }
            }
        }
        let elapsed = ContinuousClock.now - started
        outcomes.sort { $0.row.id < $1.row.id }

        let counted = outcomes.filter { $0.row.status == "ok" }
        for outcome in counted where !outcome.problems.isEmpty {
            Issue.record(
                "\(outcome.row.id) (\(outcome.row.note)): \(outcome.problems.joined(separator: "; "))\nstderr: \(outcome.errors.prefix(600))"
            )
        }
        for outcome in outcomes where outcome.row.status == "reaches-build" {
            // The control row: valid input must reach the stand-ins, or the corpus would prove nothing.
            #expect(
                !outcome.standInsCalled.isEmpty, "\(outcome.row.id) did not reach the bootstrap stand-in: \(outcome.errors.prefix(400))")
        }

        func counts(_ key: (Outcome) -> String) -> String {
            Dictionary(grouping: outcomes, by: key).map { "\($0.key) \($0.value.count)" }.sorted().joined(separator: ", ")
        }
        let crashes = outcomes.filter { Self.isCrash($0.termination) }.count
        let hangs = outcomes.filter { $0.termination == nil }.count
        let reached = outcomes.filter { !$0.standInsCalled.isEmpty && $0.row.status != "reaches-build" }.count
        let wrongExit = outcomes.filter { $0.row.status == "ok" && $0.termination != .exited($0.row.exit) }.count
        let positioned = counted.filter { $0.row.position.contains(":") }
        let withPosition = positioned.filter { !$0.problems.contains { $0.hasPrefix("position") } }.count
        let errorLines = outcomes.flatMap { Self.errorLines($0.errors) }
        let withAccepted = errorLines.filter { $0.contains("; ") }.count
        print(
            """
            bad inputs: \(outcomes.count) in \(elapsed) (\(Self.concurrency) at a time)
              by kind: \(counts { $0.row.kind })
              by expected exit: \(counts { "\($0.row.exit)" })
              by status: \(counts { $0.row.status })
              crashes \(crashes), hangs \(hangs), reached a bootstrap/build/boot \(reached)
              checked rows: \(counted.count), wrong exit code \(wrongExit), failing \(counted.filter { !$0.problems.isEmpty }.count)
              file:line:column named: \(withPosition)/\(positioned.count); error lines saying what is accepted ("; "): \(withAccepted)/\(errorLines.count)
            """)
        #expect(crashes == 0)
        #expect(hangs == 0)
    }

    /// Makes the scratch directory of run `index`: a fresh home and the stand-ins. All are written
    /// before any run starts: a script still open for writing while another run forks would make
    /// its exec fail with ETXTBSY ("Text file busy").
    static func prepareScratch(root: String, index: Int) throws {
        let scratch = root + "/runs/\(index)"
        let standInDirectory = scratch + "/bin", calls = scratch + "/calls"
        for directory in [scratch + "/home", standInDirectory, calls] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for tool in standIns {
            let path = standInDirectory + "/" + tool
            try "#!/bin/sh\ntouch '\(calls)/\(tool)'\necho 'hallmark-stand-in: \(tool) was called' >&2\nexit 1\n".write(
                toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
    }

    /// Runs one row in its prepared scratch directory, with the stand-ins first on PATH.
    static func run(_ row: Row, root: String, index: Int) async throws -> Outcome {
        let scratch = root + "/runs/\(index)"
        let standInDirectory = scratch + "/bin", calls = scratch + "/calls"
        let caseDirectory = root + "/cases/" + row.id
        try FileManager.default.createDirectory(atPath: caseDirectory, withIntermediateDirectories: true)
        let setup = row.setup.split(separator: ":").map(String.init)
        switch setup.first {
        case "fifo": mkfifo(caseDirectory + "/" + setup[1], 0o644)
        case "chmod": chmod(caseDirectory + "/" + setup[1], mode_t(setup[2], radix: 8) ?? 0o600)
        default: break
        }
        func substitute(_ text: String) -> String {
            text.replacingOccurrences(of: "{case}", with: caseDirectory).replacingOccurrences(of: "{base}", with: root + "/base")
                .replacingOccurrences(of: "{scratch}", with: scratch)
        }
        let environment = [
            "PATH": standInDirectory + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": scratch + "/home",
            "HALLMARK_HOME": scratch + "/home/.hallmark", "LANG": "C.UTF-8",
        ]
        let command = HostCommand(Hallmark.binary, row.arguments.map(substitute), environment: environment, inheritsEnvironment: false)
        let child = try ChildProcess.spawn(command, outputPath: scratch + "/stdout", errorPath: scratch + "/stderr")
        let termination = await child.exited(within: timeout)
        if termination == nil { await child.terminate(grace: .seconds(1)) }
        let errors = (try? String(contentsOfFile: scratch + "/stderr", encoding: .utf8)) ?? ""
        let output = (try? String(contentsOfFile: scratch + "/stdout", encoding: .utf8)) ?? ""
        let called = standIns.filter {
            FileManager.default.fileExists(atPath: calls + "/" + $0) || (errors + output).contains("hallmark-stand-in: \($0) was called")
        }

        var problems: [String] = []
        if termination == nil { problems.append("hang: still running after \(timeout)") }
        if isCrash(termination) { problems.append("crash: \(termination.map { "\($0)" } ?? "")") }
        if !called.isEmpty && row.status != "reaches-build" { problems.append("reached \(called.joined(separator: ", "))") }
        if let termination, termination != .exited(row.exit) { problems.append("exit: expected \(row.exit), got \(termination)") }
        if row.position != "-" {
            let parts = row.position.split(separator: ":").map(String.init)
            let file = parts[0].hasPrefix("/") ? parts[0] : substitute(parts[0].hasPrefix("{") ? parts[0] : root + "/" + parts[0])
            let expected = parts.count == 3 ? "\(file):\(parts[1]):\(parts[2]): " : "\(file):"
            if !errorLines(errors).contains(where: { $0.contains(expected) }) {
                problems.append("position: expected \(expected.dropLast(parts.count == 3 ? 2 : 1))")
            }
        }
        if [64, 65, 69, 70, 77].contains(row.exit) { problems += shapeProblems(errors) }
        return Outcome(row: row, termination: termination, errors: errors, standInsCalled: called, problems: problems)
    }

    /// A signal, or the statuses a shell reports for one (128+N), 130 and 143 included: no input should interrupt.
    static func isCrash(_ termination: Termination?) -> Bool {
        switch termination {
        case .signaled: return true
        case .exited(let code): return code >= 128
        case nil: return false
        }
    }

    /// The `hallmark: error:` lines (a command that finds several problems, as lint does, names each).
    static func errorLines(_ errors: String) -> [String] {
        errors.split(separator: "\n").filter { $0.hasPrefix("hallmark: error: ") }.map(String.init)
    }

    /// What the one error shape rules out: no `hallmark: error:` line, ArgumentParser's or Foundation's own text, a dumped file.
    static func shapeProblems(_ errors: String) -> [String] {
        var problems: [String] = []
        if errorLines(errors).isEmpty { problems.append("shape: no 'hallmark: error:' line") }
        let foreign = [
            "Error: ", "Usage: ", "NSCocoaErrorDomain", "Error Domain=", "couldn’t be", "Fatal error", "internal error", "Context:",
        ]
        for text in foreign where errors.contains(text) { problems.append("shape: stderr contains '\(text)'") }
        if errors.split(separator: "\n").count > 20 { problems.append("shape: \(errors.split(separator: "\n").count) lines on stderr") }
        return problems
    }
}
