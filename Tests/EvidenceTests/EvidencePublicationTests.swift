import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import Evidence

/// The evidence set is published as a whole: an interrupt at any point leaves the report
/// directory with the earlier complete set or the new one, and the logs written during the run.
@Suite struct EvidencePublicationTests {
    static let evidenceFiles = [
        "report.json", "junit.xml", "summary.md", "report.html", "facts.json", "collector.sh",
        "image-collector.sh", "report.dsse.json",
    ]

    struct Interrupted: Error {}

    /// Writes the set for `build` into `directory`, stopping (as an interrupt would) after `limit` files.
    static func writeSet(build: Int, into directory: String, limit: Int = .max) throws {
        let audit = report(message: "build \(build)", build: build)
        let writers: [(String, () throws -> Void)] = [
            ("report.json", { try audit.write(to: directory + "/report.json") }),
            (
                "junit.xml",
                { try "<testsuites tests=\"\(build)\"/>".write(toFile: directory + "/junit.xml", atomically: false, encoding: .utf8) }
            ),
            (
                "summary.md",
                { try MarkdownSummary.render(audit).write(toFile: directory + "/summary.md", atomically: false, encoding: .utf8) }
            ),
            ("report.html", { try HTMLReport.render(audit).write(toFile: directory + "/report.html", atomically: false, encoding: .utf8) }),
            ("facts.json", { try "{\"build\":\(build)}".write(toFile: directory + "/facts.json", atomically: false, encoding: .utf8) }),
            ("collector.sh", { try "# build \(build)".write(toFile: directory + "/collector.sh", atomically: false, encoding: .utf8) }),
            (
                "report.dsse.json",
                { try "{\"build\":\(build)}".write(toFile: directory + "/report.dsse.json", atomically: false, encoding: .utf8) }
            ),
        ]
        for (index, (_, write)) in writers.enumerated() {
            guard index < limit else { throw Interrupted() }
            try write()
        }
    }

    /// The build whose complete set `directory` holds; fails the test on a mix or a partial set.
    static func publishedBuild(in directory: String) throws -> Int? {
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory)).intersection(evidenceFiles)
        if names.isEmpty { return nil }
        #expect(names == Set(evidenceFiles).subtracting(["image-collector.sh"]), "a partial set: \(names.sorted())")
        let builds = Set(
            try names.map { name -> String in
                let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
                return text.contains("build 2") || text.contains("\"build\":2") || text.contains("tests=\"2\"") ? "2" : "1"
            })
        #expect(builds.count == 1, "a mix of two sets: \(builds)")
        return Int(builds.first!)
    }

    /// A report directory `<scratch>/img/1.0.0-1`; the scratch goes with the test.
    let scratch: TemporaryDirectory

    init() throws { scratch = try TemporaryDirectory(prefix: "hallmark-evidence") }

    func reportDirectory() throws -> String {
        let directory = scratch.path + "/img/1.0.0-1"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test(arguments: 0...6)
    func anInterruptWhileWritingLeavesTheEarlierSet(filesWritten: Int) throws {
        let directory = try reportDirectory()
        let first = try StagedDirectory(replacing: directory)
        try Self.writeSet(build: 1, into: first.path)
        try first.publish(fileSet: Set(Self.evidenceFiles))
        try "console of the second test\n".write(toFile: directory + "/console.log", atomically: false, encoding: .utf8)

        let second = try StagedDirectory(replacing: directory)
        #expect(throws: Interrupted.self) {
            defer { second.discard() }
            try Self.writeSet(build: 2, into: second.path, limit: filesWritten)
        }
        #expect(try Self.publishedBuild(in: directory) == 1)
        #expect(!FileManager.default.fileExists(atPath: second.path))
        // A process killed outright leaves its staging directory, never a changed report directory.
        let killed = try StagedDirectory(replacing: directory)
        _ = try? Self.writeSet(build: 2, into: killed.path, limit: filesWritten + 1)
        #expect(try Self.publishedBuild(in: directory) == 1)
        killed.discard()
    }

    @Test func publishingReplacesTheWholeSetAndKeepsTheLogs() throws {
        let directory = try reportDirectory()
        try "bootstrap…\n".write(toFile: directory + "/build.log", atomically: false, encoding: .utf8)
        let first = try StagedDirectory(replacing: directory)
        try Self.writeSet(build: 1, into: first.path)
        try "image probes".write(toFile: first.path + "/image-collector.sh", atomically: false, encoding: .utf8)
        try first.publish(fileSet: Set(Self.evidenceFiles))
        #expect(FileManager.default.fileExists(atPath: directory + "/image-collector.sh"))

        let console = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/build.log"))
        let second = try StagedDirectory(replacing: directory)
        try Self.writeSet(build: 2, into: second.path)
        try second.publish(fileSet: Set(Self.evidenceFiles))
        #expect(try Self.publishedBuild(in: directory) == 2)
        // A file of the earlier set that the new one lacks is gone with it.
        #expect(!FileManager.default.fileExists(atPath: directory + "/image-collector.sh"))
        // The log is the same file: a writer that still holds it open keeps appending to it.
        console.seekToEndOfFile()
        console.write(Data("still writing\n".utf8))
        try console.close()
        #expect(try String(contentsOfFile: directory + "/build.log", encoding: .utf8) == "bootstrap…\nstill writing\n")
        let siblings = try FileManager.default.contentsOfDirectory(atPath: (directory as NSString).deletingLastPathComponent)
        #expect(siblings == ["1.0.0-1"], "\(siblings)")
    }
}
