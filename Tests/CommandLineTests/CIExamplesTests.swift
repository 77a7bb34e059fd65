import Foundation
import HallmarkTestSupport
import Testing
import Yams

/// docs/ci's GitHub Actions workflow and GitLab CI job: valid YAML, every `hallmark` command they
/// run exists in the CLI with the options they pass, and both keep the reports, publish JUnit and
/// fail the job when the gate closes.
@Suite struct CIExamplesTests {
    /// One command of the CLI's tree, as `hallmark --experimental-dump-help` prints it.
    private struct CommandNode {
        var options: Set<String>
        var subcommands: [String: CommandNode]

        init(_ json: [String: Any]) {
            let arguments = json["arguments"] as? [[String: Any]] ?? []
            options = Set(
                arguments.flatMap { ($0["names"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "long" } }
                    .compactMap { $0["name"] as? String })
            subcommands = Dictionary(
                (json["subcommands"] as? [[String: Any]] ?? []).map { ($0["commandName"] as? String ?? "", CommandNode($0)) },
                uniquingKeysWith: { a, _ in a })
        }
    }

    private func commandTree() async throws -> CommandNode {
        let (status, output) = try await runCapturingOutput(Hallmark.binary, ["--experimental-dump-help"])
        #expect(status == .exited(0))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        return CommandNode(try #require(json["command"] as? [String: Any]))
    }

    private func load(_ name: String) throws -> [String: Any] {
        let text = try String(contentsOfFile: Repository.root + "/docs/ci/" + name, encoding: .utf8)
        return try #require(try Yams.load(yaml: text) as? [String: Any], "\(name) is not a YAML mapping")
    }

    /// Every `hallmark …` command in the shell lines: the words after `hallmark` up to a shell operator.
    private func hallmarkCommands(_ lines: [String]) -> [[String]] {
        lines.flatMap { $0.split(separator: "\n") }.compactMap { line -> [String]? in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let start = words.firstIndex(where: { $0 == "hallmark" || $0.hasSuffix("/hallmark") }) else { return nil }
            return Array(words[(start + 1)...].prefix { !["|", "||", "&&", ";", ">", "2>/dev/null"].contains($0) })
        }
    }

    /// Problems with one command line against the tree: an unknown subcommand or option.
    private func problems(_ words: [String], tree: CommandNode) -> [String] {
        var node = tree
        var path: [String] = []
        var index = 0
        while index < words.count, let next = node.subcommands[words[index]] {
            node = next
            path.append(words[index])
            index += 1
        }
        guard node.subcommands.isEmpty else { return ["hallmark \(words.joined(separator: " ")): no such subcommand"] }
        return words[index...].filter { $0.hasPrefix("--") }.map { String($0.dropFirst(2).split(separator: "=")[0]) }
            .filter { !node.options.contains($0) }
            .map { "hallmark \(path.joined(separator: " ")): no option --\($0)" }
    }

    @Test func theGitHubWorkflowRunsRealCommandsKeepsReportsAndFailsOnTheGate() async throws {
        let workflow = try load("github-actions.yml")
        let jobs = try #require(workflow["jobs"] as? [String: Any])
        let job = try #require(jobs["pipeline"] as? [String: Any])
        let steps = try #require(job["steps"] as? [[String: Any]])
        let runs = steps.compactMap { $0["run"] as? String }
        let commands = hallmarkCommands(runs)
        #expect(commands.contains { $0.starts(with: ["pipeline", "run"]) })
        let tree = try await commandTree()
        #expect(commands.flatMap { problems($0, tree: tree) } == [])

        let matrix = try #require((job["strategy"] as? [String: Any])?["matrix"] as? [String: Any])
        #expect((matrix["include"] as? [[String: Any]])?.count ?? 0 >= 2, "the matrix runs several pipelines")
        let always = steps.filter { $0["if"] as? String == "always()" }
        #expect(always.contains { ($0["uses"] as? String)?.hasPrefix("actions/upload-artifact") == true })
        #expect(always.contains { ($0["uses"] as? String)?.contains("junit") == true })
        #expect(always.contains { ($0["run"] as? String)?.contains("$GITHUB_STEP_SUMMARY") == true })
        // The last step exits with hallmark's status: a closed gate (1) fails the job.
        #expect((steps.last?["run"] as? String)?.contains("exit \"$status\"") == true)
        #expect(steps.last?["if"] == nil, "the gate step runs only when everything before it did")
    }

    @Test func theGitLabJobRunsRealCommandsKeepsReportsAndFailsOnTheGate() async throws {
        let file = try load("gitlab-ci.yml")
        let template = try #require(file[".hallmark-pipeline"] as? [String: Any])
        let lines = ["before_script", "script", "after_script"].flatMap { template[$0] as? [String] ?? [] }
        let commands = hallmarkCommands(lines)
        #expect(commands.contains { $0.starts(with: ["pipeline", "run"]) })
        let tree = try await commandTree()
        #expect(commands.flatMap { problems($0, tree: tree) } == [])
        // `pipeline run` is in `script`, so its exit status decides the job.
        #expect(hallmarkCommands(template["script"] as? [String] ?? []).contains { $0.starts(with: ["pipeline", "run"]) })
        let artifacts = try #require(template["artifacts"] as? [String: Any])
        #expect(artifacts["when"] as? String == "always")
        #expect((artifacts["reports"] as? [String: Any])?["junit"] as? String == "reports/*/*/junit.xml")
        let release = try #require(file["release"] as? [String: Any])
        #expect(release["extends"] as? String == ".hallmark-pipeline")
        let matrix = try #require((release["parallel"] as? [String: Any])?["matrix"] as? [[String: Any]])
        #expect(matrix.count >= 2)
        #expect((release["tags"] as? [String])?.contains("$RUNNER") == true)
    }

    @Test func aCommandThatDoesNotExistIsCaught() async throws {
        let tree = try await commandTree()
        #expect(problems(["pipeline", "run", "p.yaml", "--if-updates"], tree: tree) == [])
        #expect(problems(["pipeline", "launch", "p.yaml"], tree: tree) == ["hallmark pipeline launch p.yaml: no such subcommand"])
        #expect(problems(["lifecycle", "apply", "--keep-last", "3"], tree: tree) == ["hallmark lifecycle apply: no option --keep-last"])
    }

    @Test func theMatrixPipelinesExistAndNameRealRecipes() throws {
        for name in ["base-images", "cis-images"] {
            let pipeline = try #require(
                try Yams.load(yaml: String(contentsOfFile: Repository.root + "/docs/ci/pipelines/\(name).yaml", encoding: .utf8))
                    as? [String: Any])
            #expect(pipeline["name"] as? String == name)
            let recipe = try #require(pipeline["recipe"] as? String)
            #expect(FileManager.default.fileExists(atPath: Repository.root + "/docs/ci/pipelines/" + recipe), "\(recipe)")
        }
    }
}
