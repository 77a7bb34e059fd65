import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel
@testable import ImageBuild
@testable import ImageStore

/// S3Download and S3Upload against moto's S3 server on 127.0.0.1, through the standard AWS settings.
@Suite(.serialized) struct S3DownloadTests {
    @Test func objectsAndPrefixesAreDownloadedAsTOEDoes() async throws {
        try await withMoto { scratch, tree in try await check(scratch: scratch, tree: tree) }
    }

    /// Starts moto's S3 server on a free loopback port with the settings an S3 user sets (no
    /// profile or credentials file of the host is read), makes the bucket `hallmark-test` and
    /// runs `body` with a scratch folder and a tree in it; the suite is serialized because the
    /// settings are the process's environment.
    func withMoto(_ body: (String, String) async throws -> Void) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("s3-\(UUID().uuidString)").path
        let tree = scratch + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/opt", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let port = try await HostCommand(
            "python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
        ).output().trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try ChildProcess.spawn(HostCommand("moto_server", ["-H", "127.0.0.1", "-p", port]), outputPath: scratch + "/moto.log")
        for (name, value) in [
            "AWS_ENDPOINT_URL": "http://127.0.0.1:\(port)", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": scratch + "/none", "AWS_SHARED_CREDENTIALS_FILE": scratch + "/none",
        ] {
            setenv(name, value, 1)
        }
        do {
            var ready = false
            for _ in 0..<100 where !ready {
                ready = (try? await HostCommand("aws", ["s3", "mb", "s3://hallmark-test"]).run()) != nil
                if !ready { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(ready, "moto did not start")
            try await body(scratch, tree)
        } catch {
            await server.terminate(grace: .seconds(1))
            throw error
        }
        await server.terminate(grace: .seconds(1))
    }

    func check(scratch: String, tree: String) async throws {
        for (key, text) in [("one.txt", "one\n"), ("conf/a.conf", "a\n"), ("conf/sub/b.conf", "b\n")] {
            try text.write(toFile: scratch + "/upload", atomically: true, encoding: .utf8)
            try await HostCommand("aws", ["s3", "cp", "--only-show-errors", scratch + "/upload", "s3://hallmark-test/" + key]).run()
        }
        let component = try loadComponent(
            ComponentStepTests.document(
                """
                      - name: Fetch
                        action: S3Download
                        inputs:
                          - {source: 's3://hallmark-test/one.txt', destination: '\(tree)/opt/'}
                          - {source: 's3://hallmark-test/conf/*', destination: '\(tree)/etc/app'}
                      - name: Again
                        action: S3Download
                        onFailure: Ignore
                        inputs:
                          - {source: 's3://hallmark-test/one.txt', destination: '\(tree)/opt/one.txt'}
                      - name: Missing
                        action: S3Download
                        inputs:
                          - {source: 's3://hallmark-test/absent.txt', destination: '\(tree)/opt/absent.txt'}

                """))
        var outputs: [String: String] = [:]
        let log = Lines()
        let failure = await #expect(throws: ComponentStepFailure.self) {
            try await ComponentRunner(component: component, parameters: [:], log: { log.append($0) })
                .run(.build, on: LocalBash(), outputs: &outputs)
        }
        #expect(try String(contentsOfFile: tree + "/opt/one.txt", encoding: .utf8) == "one\n")
        #expect(try String(contentsOfFile: tree + "/etc/app/a.conf", encoding: .utf8) == "a\n")
        #expect(try String(contentsOfFile: tree + "/etc/app/sub/b.conf", encoding: .utf8) == "b\n")
        #expect(outputs["build.Fetch.outputs.stdout"] == "\(tree)/opt/one.txt\n\(tree)/etc/app/a.conf\n\(tree)/etc/app/sub/b.conf")
        // overwrite defaults to false: the existing file fails the (ignored) step.
        #expect(
            log.all.contains(
                "[steps] ignoring: component 'steps' build step 'Again' entry 1 (source 's3://hallmark-test/one.txt') could not be written to '\(tree)/opt/one.txt': \(tree)/opt/one.txt exists and overwrite is false after 1 attempt(s)"
            ), "\(log.all)")
        // A key that does not exist fails the step, naming the entry.
        #expect(
            failure?.message.hasPrefix(
                "component 'steps' build step 'Missing' entry 1 (source 's3://hallmark-test/absent.txt') could not be downloaded: ")
                == true,
            "\(String(describing: failure))")
        #expect(failure?.message.contains("404") == true, "\(String(describing: failure))")
        #expect(!FileManager.default.fileExists(atPath: tree + "/opt/absent.txt"))
    }
}

/// Log lines collected from a runner's `log`, which may be called from any task.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    func append(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}
