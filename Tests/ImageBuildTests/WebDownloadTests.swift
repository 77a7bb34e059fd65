import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel
@testable import ImageBuild
@testable import ImageStore

/// WebDownload against a real HTTP server (Python's http.server) started on 127.0.0.1.
@Suite struct WebDownloadTests {
    /// `python3 -m http.server` serving `directory` on a port the kernel picks.
    struct Server {
        var child: ChildProcess
        var port: Int

        static func start(serving directory: String, log: String) async throws -> Server {
            let child = try ChildProcess.spawn(
                HostCommand("python3", ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory]),
                outputPath: log)
            for _ in 0..<100 {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if let range = text.range(of: #"port (\d+)"#, options: .regularExpression),
                    let port = Int(text[range].dropFirst(5))
                {
                    return Server(child: child, port: port)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            await child.terminate(grace: .seconds(1))
            throw HallmarkError(.hostFailure, "http.server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }
    }

    func run(_ steps: String) async throws -> ([StepRecord], [String: String], ComponentStepFailure?) {
        let component = try loadComponent(ComponentStepTests.document(steps))
        var outputs: [String: String] = [:]
        do {
            let records = try await ComponentRunner(component: component, parameters: [:], log: { _ in })
                .run(phaseNamed: "build", on: LocalBash(), outputs: &outputs)
            return (records, outputs, nil)
        } catch let failure as ComponentStepFailure {
            return ([], outputs, failure)
        }
    }

    @Test func downloadsAreCheckedPlacedAndRefusedAsTOEDoes() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("webdownload-\(UUID().uuidString)").path
        let served = scratch + "/served", tree = scratch + "/tree"
        for directory in [served, tree + "/opt"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try "hello from the server\n".write(toFile: served + "/tool.txt", atomically: true, encoding: .utf8)
        let sha256 = Digest.sha256("hello from the server\n")
        let server = try await Server.start(serving: served, log: scratch + "/server.log")
        do {
            try await check(base: "http://127.0.0.1:\(server.port)", tree: tree, sha256: sha256)
        } catch {
            await server.child.terminate(grace: .seconds(1))
            throw error
        }
        await server.child.terminate(grace: .seconds(1))
    }

    func check(base: String, tree: String, sha256: String) async throws {

        // Good checksum, a folder destination (the URL's name is kept), then an exact path.
        let (records, outputs, failure) = try await run(
            """
                  - name: Fetch
                    action: WebDownload
                    inputs:
                      - {source: '\(base)/tool.txt', destination: '\(tree)/opt/', checksum: '\(sha256)', algorithm: SHA256}
                      - {source: '\(base)/tool.txt', destination: '\(tree)/opt/renamed.txt'}

            """)
        #expect(failure == nil, "\(String(describing: failure))")
        #expect(records.map(\.outcome) == ["success"])
        #expect(try String(contentsOfFile: tree + "/opt/tool.txt", encoding: .utf8) == "hello from the server\n")
        #expect(FileManager.default.fileExists(atPath: tree + "/opt/renamed.txt"))
        #expect(outputs["build.Fetch.outputs.stdout"] == "\(tree)/opt/tool.txt\n\(tree)/opt/renamed.txt")

        // A wrong checksum writes nothing and names the entry.
        let (_, _, wrong) = try await run(
            """
                  - name: Wrong
                    action: WebDownload
                    inputs:
                      - {source: '\(base)/tool.txt', destination: '\(tree)/opt/bad.txt', checksum: '\(String(repeating: "0", count: 64))', algorithm: SHA256}

            """)
        #expect(
            wrong?.message
                == "component 'steps' build step 'Wrong' entry 1 (source '\(base)/tool.txt') has SHA256 \(sha256), not the checksum \(String(repeating: "0", count: 64)); nothing was written after 1 attempt(s)"
        )
        #expect(!FileManager.default.fileExists(atPath: tree + "/opt/bad.txt"))

        // A 404 fails the step (every attempt of it), naming the entry after the one that worked.
        let (_, _, missing) = try await run(
            """
                  - name: Missing
                    action: WebDownload
                    maxAttempts: 2
                    inputs:
                      - {source: '\(base)/tool.txt', destination: '\(tree)/opt/again.txt', overwrite: true}
                      - {source: '\(base)/absent.txt', destination: '\(tree)/opt/absent.txt'}

            """)
        #expect(
            missing?.message.hasPrefix(
                "component 'steps' build step 'Missing' entry 2 (source '\(base)/absent.txt') could not be downloaded: ") == true)
        #expect(missing?.message.contains("404") == true, "\(String(describing: missing))")
        #expect(missing?.message.hasSuffix("after 2 attempt(s)") == true, "\(String(describing: missing))")
        #expect(!FileManager.default.fileExists(atPath: tree + "/opt/absent.txt"))

        // overwrite defaults to false: an existing destination is an error; true replaces it.
        try "old".write(toFile: tree + "/opt/kept.txt", atomically: true, encoding: .utf8)
        let (_, _, exists) = try await run(
            "      - {name: Keep, action: WebDownload, inputs: [{source: '\(base)/tool.txt', destination: '\(tree)/opt/kept.txt'}]}\n")
        #expect(exists?.message.contains("exists and overwrite is false") == true, "\(String(describing: exists))")
        #expect(try String(contentsOfFile: tree + "/opt/kept.txt", encoding: .utf8) == "old")
        let (_, _, replaced) = try await run(
            "      - {name: Replace, action: WebDownload, inputs: [{source: '\(base)/tool.txt', destination: '\(tree)/opt/kept.txt', overwrite: true}]}\n"
        )
        #expect(replaced == nil)

        // A destination with '..' is refused before anything is downloaded.
        let (_, _, escape) = try await run(
            "      - {name: Out, action: WebDownload, inputs: [{source: '\(base)/tool.txt', destination: '\(tree)/opt/../../x'}]}\n")
        #expect(escape?.message.contains("entry 1 (destination '\(tree)/opt/../../x')") == true, "\(String(describing: escape))")
        #expect(escape?.message.hasSuffix("is refused: '..' is not allowed in a path; write the absolute path inside the image") == true)
        #expect(try String(contentsOfFile: tree + "/opt/kept.txt", encoding: .utf8) == "hello from the server\n")
    }

    @Test func aBuildWithoutNetworkDownloadsNothing() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("hermetic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: scratch + "/tree", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let component = try loadComponent(
            ComponentStepTests.document(
                "      - {name: Get, action: WebDownload, inputs: [{source: 'http://127.0.0.1:9/x', destination: /opt/x}]}\n"))
        var outputs: [String: String] = [:]
        let failure = await #expect(throws: ComponentStepFailure.self) {
            try await ComponentRunner(component: component, parameters: [:], log: { _ in })
                .run(.build, on: ChrootExecutor(root: scratch + "/tree", scratch: scratch + "/step", network: false), outputs: &outputs)
        }
        #expect(
            failure?.message
                == "component 'steps' build step 'Get' entry 1 (source 'http://127.0.0.1:9/x') is not downloaded: the recipe says build: {network: false} after 1 attempt(s)"
        )
    }

    @Test func badWebDownloadInputsAreRefusedAtLoad() throws {
        for (entry, message) in [
            ("{source: 'ftp://x/y', destination: /opt/}", "each entry needs 'source', an http or https URL"),
            ("{source: 'http://x/y', destination: opt/}", "each entry needs 'destination', an absolute path"),
            ("{source: 'http://x/y', destination: /opt/, checksum: abc}", "'checksum' and 'algorithm' go together"),
            (
                "{source: 'http://x/y', destination: /opt/, checksum: abc, algorithm: CRC32}",
                "algorithm 'CRC32' is not one of MD5, SHA1, SHA256, SHA512"
            ),
            ("{source: 'http://x/y', destination: /opt/, retries: 3}", "unknown key 'retries'"),
        ] {
            #expect(throws: HallmarkError.self) {
                try loadComponent(ComponentStepTests.document("      - {name: Get, action: WebDownload, inputs: [\(entry)]}\n"))
            }
            do {
                _ = try loadComponent(ComponentStepTests.document("      - {name: Get, action: WebDownload, inputs: [\(entry)]}\n"))
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }
}
