import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// The README's examples that need no VM, run as written by scripts/readme-doctest.py with the
/// built binary, in a temporary copy of the repository: a renamed flag or a changed output fails here.
@Suite(.tags(.binary)) struct ReadmeDoctestTests {
    /// What the marked blocks must cover between them, so that unmarking one is noticed too.
    static let covered = [
        "hallmark --version", "policy lint", "policy test", "--json", "--facts", "key generate", "verify", "--generate-completion-script",
        "xmllint --noout --schema schemas/junit.xsd",
    ]

    @Test("every README block marked doctest runs and prints what the README shows")
    func readmeExamplesRun() async throws {
        let (status, output) = try await runCapturingOutput(
            "python3", [Repository.root + "/scripts/readme-doctest.py", "--hallmark", Hallmark.binary, "--root", Repository.root])
        #expect(status == .exited(0), "\(output)")
        let summary = try #require(output.split(separator: "\n").last, "\(output)")
        let count = try #require(Int(summary.split(separator: " ").dropFirst().first ?? ""), "\(summary)")
        #expect(count >= 8, "\(output)")
    }

    @Test func markedBlocksCoverTheCommandsThatNeedNoVM() throws {
        let readme = try String(contentsOfFile: Repository.root + "/README.md", encoding: .utf8)
        var marked = "", open = false, doctest = false
        for line in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") {
                (open, doctest) = (!open, !open && line.split(separator: " ").contains("doctest"))
            } else if doctest {
                marked += line + "\n"
            }
        }
        for command in Self.covered { #expect(marked.contains(command), "no README block marked doctest runs \(command)") }
    }
}
