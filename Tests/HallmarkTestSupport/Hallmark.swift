import Foundation
import HallmarkSupport
import Testing

/// The built `hallmark` binary, run as a user would run it, against the test run's home.
public enum Hallmark {
    public static let binary = Repository.root + "/.build/debug/hallmark"

    /// `make test` sets HALLMARK_HOME so the bootstrapped parent is shared by every test of the run.
    public static let home = ProcessInfo.processInfo.environment["HALLMARK_HOME"] ?? Repository.root + "/.build/hallmark-test-home"

    /// What one run left: its exit, its output (stdout and stderr interleaved, unless asked apart)
    /// and the reports directory it was given.
    public struct Run: Sendable {
        public var status: Termination
        public var output: String
        /// Standard error, when the run was asked to keep it apart from `output`; otherwise empty.
        public var errors: String
        public var reports: String

        public init(status: Termination, output: String, errors: String = "", reports: String) {
            (self.status, self.output, self.errors, self.reports) = (status, output, errors, reports)
        }
    }

    /// Runs the hallmark binary with output to a file; `whileRunning` may act on the live process.
    /// `passReports` appends `--reports <reports>`; `separateErrors` keeps stderr out of `output`.
    public static func run(
        _ arguments: [String], reports: String, passReports: Bool = true, environment: [String: String] = [:],
        separateErrors: Bool = false,
        whileRunning: (@Sendable (ChildProcess, String) async throws -> Void)? = nil
    ) async throws -> Run {
        checkTagged(arguments)
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let log = reports + "/hallmark-\(arguments[0])-\(UUID().uuidString.prefix(6)).out"
        let errorLog = separateErrors ? log + ".err" : nil
        let command = HostCommand(
            binary, arguments + (passReports ? ["--reports", reports] : []),
            environment: environment.merging(["HALLMARK_HOME": home]) { $1 })
        let child = try ChildProcess.spawn(command, outputPath: log, errorPath: errorLog)
        if let whileRunning { try await whileRunning(child, log) }
        let status = await child.wait()
        let read = { (path: String?) in path.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? "" }
        return Run(status: status, output: read(log), errors: read(errorLog), reports: reports)
    }

    /// A test that boots (or builds) through the binary must say so with its tags, so that the
    /// VM-free set can never grow a boot by accident.
    static func checkTagged(_ arguments: [String]) {
        guard let test = Test.current, let command = arguments.first else { return }
        let needed: Set<Tag> =
            switch command {
            case "run", "test": [.vm]
            case "build": [.vm, .imageBuild]
            case "pipeline" where arguments.dropFirst().first == "run": [.vm, .imageBuild]
            default: []
            }
        guard !needed.isEmpty, test.tags.isDisjoint(with: needed) else { return }
        Issue.record(
            "`hallmark \(command)` builds or boots an image: tag the test \(needed.map { "\($0)" }.sorted().joined(separator: " or ")) and keep it in EndToEndTests"
        )
    }

    /// Builds `recipe` unless an image of that name exists (when a test runs on its own).
    public static func ensureBuilt(_ recipe: String, image: String, reports: String) async throws {
        guard !FileManager.default.fileExists(atPath: home + "/images/" + image) else { return }
        let build = try await run(["build", recipe], reports: reports)
        try #require(build.status == .exited(0), "\(build.output)")
    }

    /// A reports directory of its own under .build, kept after the run for inspection.
    public static func scratchReports() -> String {
        Repository.root + "/.build/e2e-reports/\(UUID().uuidString.prefix(8))"
    }

    /// QEMU processes started for this test home (sockets live in `$HALLMARK_HOME/run`), optionally
    /// only those of one image (`-name hallmark-<image>`).
    public static func leftoverQEMU(named name: String? = nil) -> [String] {
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.filter { Int($0) != nil }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let commandLine = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            let matches = commandLine.contains(home) && (name.map { commandLine.contains("-name \($0) ") } ?? true)
            let executable = (commandLine.prefix { $0 != " " } as Substring).split(separator: "/").last ?? ""
            return executable.hasPrefix("qemu-system") && matches ? "\(pid): \(commandLine.prefix(120))" : nil
        }
    }

    /// The run directories (kept VMs, live tests) of this test home.
    public static func runDirectories() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: home + "/run")) ?? []
    }

    /// Loop devices backed by a file of this test home or project (another user's are not ours to count).
    public static func loopDevices() -> [String] {
        let devices = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []
        return devices.filter { $0.hasPrefix("loop") }.compactMap { device in
            guard let backing = try? String(contentsOfFile: "/sys/block/\(device)/loop/backing_file", encoding: .utf8) else { return nil }
            return backing.hasPrefix(Repository.root) ? "\(device): \(backing)" : nil
        }
    }
}

extension Hallmark.Run {
    /// The newest report directory of `image` under this run's reports.
    public func reportDirectory(image: String) throws -> String {
        let builds = try FileManager.default.contentsOfDirectory(atPath: reports + "/" + image).sorted()
        return reports + "/\(image)/" + (try #require(builds.last))
    }

    /// The newest report.json of `image` under this run's reports.
    public func report(image: String) throws -> ReportJSON {
        try ReportJSON.read(try reportDirectory(image: image) + "/report.json")
    }
}
