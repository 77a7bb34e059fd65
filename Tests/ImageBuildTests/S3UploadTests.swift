import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel
@testable import ImageBuild

/// Runs steps with the host's bash, stdout and stderr apart as the build's sandbox gives them, and
/// refuses paths as the build's tree does, the host's `/` standing in for the tree: a symbolic link
/// to an absolute target leads out.
struct TreeBash: StepExecutor {
    func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("step-\(UUID().uuidString).sh").path
        try bashScript.write(toFile: script, atomically: true, encoding: .utf8)
        defer { for path in [script, script + ".out", script + ".err"] { try? FileManager.default.removeItem(atPath: path) } }
        let status = try await ChildProcess.spawn(
            HostCommand("/bin/bash", [script]), outputPath: script + ".out", errorPath: script + ".err"
        )
        .wait()
        let stdout = (try? String(contentsOfFile: script + ".out", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: script + ".err", encoding: .utf8)) ?? ""
        guard case .exited(let code) = status else { return StepOutput(exitCode: 128, stdout: stdout, stderr: stderr) }
        return StepOutput(exitCode: code, stdout: stdout, stderr: stderr)
    }

    func reboot() async throws {}

    func refusal(ofPath path: String) -> String? { TreeFiles(root: "/").escape(of: path) }
}

extension S3DownloadTests {
    @Test func filesFoldersAndWildcardsAreUploadedAsTOEDoes() async throws {
        try await withMoto { scratch, tree in
            let data = tree + "/data"
            try FileManager.default.createDirectory(atPath: data + "/sub", withIntermediateDirectories: true)
            for (name, text) in [("a.txt", "a\n"), ("x.log", "x\n"), ("sub/b.log", "b\n")] {
                try text.write(toFile: data + "/" + name, atomically: true, encoding: .utf8)
            }
            let component = try loadComponent(
                ComponentStepTests.document(
                    """
                          - name: One
                            action: S3Upload
                            inputs:
                              - {source: '\(data)/a.txt', destination: 's3://hallmark-test/single/renamed.txt'}
                              - {source: '\(data)/a.txt', destination: 's3://hallmark-test/keep/'}
                          - name: Wildcard
                            action: S3Upload
                            inputs:
                              - {source: '\(data)/*', destination: 's3://hallmark-test/flat'}
                          - name: Recurse
                            action: S3Upload
                            inputs:
                              - {source: '\(data)/*', destination: 's3://hallmark-test/all/', recurse: true}
                              - {source: '\(data)/sub', destination: 's3://hallmark-test/folder/', recurse: 'True'}

                    """))
            var outputs: [String: String] = [:]
            _ = try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(
                .build, on: TreeBash(), outputs: &outputs)
            let keys = try await HostCommand("aws", ["s3", "ls", "--recursive", "s3://hallmark-test/"]).output()
                .split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
            #expect(
                keys.sorted() == [
                    "all/a.txt", "all/sub/b.log", "all/x.log", "flat/a.txt", "flat/x.log", "folder/b.log", "keep/a.txt",
                    "single/renamed.txt",
                ], "\(keys)")
            #expect(try await HostCommand("aws", ["s3", "cp", "s3://hallmark-test/all/sub/b.log", "-"]).output() == "b\n")
            #expect(outputs["build.Wildcard.outputs.stdout"] == "s3://hallmark-test/flat/a.txt\ns3://hallmark-test/flat/x.log")
            #expect(outputs["build.One.outputs.stdout"] == "s3://hallmark-test/single/renamed.txt\ns3://hallmark-test/keep/a.txt")

            // Each failure names its entry; entries before it stay uploaded, as in TOE.
            try FileManager.default.createSymbolicLink(atPath: data + "/out.log", withDestinationPath: "/etc/hostname")
            try FileManager.default.createSymbolicLink(atPath: tree + "/etc-link", withDestinationPath: "/etc")
            try FileManager.default.createDirectory(atPath: tree + "/empty", withIntermediateDirectories: true)
            for (source, recurse, why) in [
                ("\(data)/absent.txt", false, "does not exist in the image"),
                ("\(data)/sub", false, "is a folder; S3Upload uploads a folder with recurse: true"),
                ("\(tree)/empty/*.log", true, "matches no file"),
                (
                    "\(data)/*.log", false,
                    "matches '\(data)/out.log', which is refused: \(data)/out.log is a symbolic link to /etc/hostname, which leads out of the image's tree"
                ),
            ] {
                let component = try loadComponent(
                    ComponentStepTests.document(
                        """
                              - name: Up
                                action: S3Upload
                                inputs:
                                  - {source: '\(data)/a.txt', destination: 's3://hallmark-test/first/'}
                                  - {source: '\(source)', destination: 's3://hallmark-test/failed/', recurse: \(recurse)}

                        """))
                let failure = await #expect(throws: ComponentStepFailure.self) {
                    try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(
                        .build, on: TreeBash(), outputs: &outputs)
                }
                #expect(
                    failure?.message == "component 'steps' build step 'Up' entry 2 (source '\(source)') \(why) after 1 attempt(s)",
                    "\(String(describing: failure))")
            }
            // A path leading out is refused before any entry runs.
            for (source, why) in [
                ("\(data)/../../../etc/hostname", "'..' is not allowed in a path; write the absolute path inside the image"),
                ("\(tree)/etc-link/host*", "\(tree)/etc-link is a symbolic link to /etc, which leads out of the image's tree"),
            ] {
                let component = try loadComponent(
                    ComponentStepTests.document(
                        """
                              - name: Escape
                                action: S3Upload
                                inputs:
                                  - {source: '\(data)/a.txt', destination: 's3://hallmark-test/never/'}
                                  - {source: '\(source)', destination: 's3://hallmark-test/failed/'}

                        """))
                let failure = await #expect(throws: ComponentStepFailure.self) {
                    try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(
                        .build, on: TreeBash(), outputs: &outputs)
                }
                #expect(
                    failure?.message.hasPrefix("component 'steps' build step 'Escape' entry 2 (source '\(source)') at ") == true,
                    "\(String(describing: failure))")
                #expect(failure?.message.hasSuffix("is refused: \(why)") == true, "\(String(describing: failure))")
            }
            // An upload the endpoint refuses fails the entry with what the CLI said.
            let refused = try loadComponent(
                ComponentStepTests.document(
                    """
                          - name: NoBucket
                            action: S3Upload
                            inputs:
                              - {source: '\(data)/a.txt', destination: 's3://hallmark-no-such-bucket/a.txt'}

                    """))
            let failure = await #expect(throws: ComponentStepFailure.self) {
                try await ComponentRunner(component: refused, parameters: [:], log: { _ in }).run(.build, on: TreeBash(), outputs: &outputs)
            }
            #expect(
                failure?.message.hasPrefix(
                    "component 'steps' build step 'NoBucket' entry 1 (source '\(data)/a.txt') could not be uploaded to s3://hallmark-no-such-bucket/a.txt: "
                ) == true, "\(String(describing: failure))")
            #expect(failure?.message.contains("NoSuchBucket") == true, "\(String(describing: failure))")
            let after = try await HostCommand("aws", ["s3", "ls", "--recursive", "s3://hallmark-test/"]).output()
            #expect(after.contains("first/a.txt"))
            #expect(!after.contains("failed/"), "\(after)")
            #expect(!after.contains("never/"), "\(after)")
            _ = scratch
        }
    }
}
