import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel
@testable import ImageBuild

/// ListFiles and SetFileEncoding on a temporary tree, as the guide describes them.
@Suite struct ListFilesAndEncodingTests {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("listfiles-\(UUID().uuidString)").path

    func run(_ steps: String) async throws -> ([String: String], ComponentStepFailure?) {
        let component = try loadComponent(ComponentStepTests.document(steps))
        var outputs: [String: String] = [:]
        do {
            _ = try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(
                .build, on: TreeBash(), outputs: &outputs)
            return (outputs, nil)
        } catch let failure as ComponentStepFailure {
            return (outputs, failure)
        }
    }

    @Test func listFilesListsFilesByPatternAndDepthAndChainsTheList() async throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let folder = scratch + "/var/log/app"
        try FileManager.default.createDirectory(atPath: folder + "/old/deeper", withIntermediateDirectories: true)
        for name in ["b.log", "a.log", "notes.txt", "old/c.log", "old/deeper/d.log"] {
            try "x".write(toFile: folder + "/" + name, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: folder + "/linked-folder", withDestinationPath: "old")
        let (outputs, failure) = try await run(
            """
                  - name: Top
                    action: ListFiles
                    inputs:
                      - path: \(folder)/
                  - name: Logs
                    action: ListFiles
                    inputs:
                      - path: \(folder)
                        fileNamePattern: '*log'
                        recursive: true
                  - name: Two
                    action: ListFiles
                    inputs:
                      - {path: \(folder)/old, fileNamePattern: 'c*'}
                      - {path: \(folder), fileNamePattern: '*.txt'}
                  - name: Count
                    action: ExecuteBash
                    inputs:
                      commands: ['echo "{{ build.Logs.outputs.files }}" | tr , "\\n" | wc -l']

            """)
        #expect(failure == nil, "\(String(describing: failure))")
        // Files only: neither the folder nor the link to one is listed.
        #expect(outputs["build.Top.outputs.files"] == "\(folder)/a.log,\(folder)/b.log,\(folder)/notes.txt")
        #expect(
            outputs["build.Logs.outputs.files"]
                == "\(folder)/a.log,\(folder)/b.log,\(folder)/old/c.log,\(folder)/old/deeper/d.log")
        #expect(outputs["build.Two.outputs.files"] == "\(folder)/old/c.log,\(folder)/notes.txt")
        #expect(outputs["build.Count.outputs.stdout"] == "4")
    }

    @Test func listFilesFailsNamingTheEntryWhoseFolderIsMissing() async throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch + "/here", withIntermediateDirectories: true)
        try "x".write(toFile: scratch + "/file", atomically: true, encoding: .utf8)
        for missing in [scratch + "/absent", scratch + "/file"] {
            let (_, failure) = try await run(
                """
                      - name: List
                        action: ListFiles
                        inputs:
                          - path: \(scratch)/here
                          - path: \(missing)

                """)
            #expect(
                failure?.message.trimmingCharacters(in: .newlines)
                    == "component 'steps' build step 'List' failed with exit code 1 after 1 attempt(s):\nentry 2 (path '\(missing)') is not a folder in the image",
                "\(String(describing: failure))")
        }
    }

    @Test func setFileEncodingRewritesTheBytes() async throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let text = "Grüße €\n"
        let cases: [(String, String, [UInt8])] = [
            ("default", "", Array(text.utf8)),
            ("utf16", "UTF-16", [0x47, 0, 0x72, 0, 0xFC, 0, 0xDF, 0, 0x65, 0, 0x20, 0, 0xAC, 0x20, 0x0A, 0]),
            ("utf16be", "utf16-BE", [0, 0x47, 0, 0x72, 0, 0xFC, 0, 0xDF, 0, 0x65, 0, 0x20, 0x20, 0xAC, 0, 0x0A]),
            (
                "utf32", "utf-32",
                [0x47, 0, 0, 0, 0x72, 0, 0, 0, 0xFC, 0, 0, 0, 0xDF, 0, 0, 0, 0x65, 0, 0, 0, 0x20, 0, 0, 0, 0xAC, 0x20, 0, 0, 0x0A, 0, 0, 0]
            ),
            (
                "utf32be", "UTF-32-BE",
                [0, 0, 0, 0x47, 0, 0, 0, 0x72, 0, 0, 0, 0xFC, 0, 0, 0, 0xDF, 0, 0, 0, 0x65, 0, 0, 0, 0x20, 0, 0, 0x20, 0xAC, 0, 0, 0, 0x0A]
            ),
        ]
        var entries = ""
        for (name, encoding, _) in cases {
            try text.write(toFile: scratch + "/" + name, atomically: true, encoding: .utf8)
            entries += "          - path: \(scratch)/\(name)\n" + (encoding.isEmpty ? "" : "            encoding: \(encoding)\n")
        }
        // A byte order mark the file has is converted with the text; none is added.
        try Data([0xEF, 0xBB, 0xBF, 0x41]).write(to: URL(fileURLWithPath: scratch + "/bom"))
        entries += "          - {path: \(scratch)/bom, encoding: utf16}\n"
        chmod(scratch + "/utf16", 0o600)
        let (_, failure) = try await run("      - name: Encode\n        action: SetFileEncoding\n        inputs:\n" + entries)
        #expect(failure == nil, "\(String(describing: failure))")
        for (name, _, bytes) in cases {
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch + "/" + name))) == bytes, "\(name)")
        }
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: scratch + "/bom"))) == [0xFF, 0xFE, 0x41, 0])
        let mode = try FileManager.default.attributesOfItem(atPath: scratch + "/utf16")[.posixPermissions] as? Int
        #expect(mode == 0o600, "the file is rewritten in place, keeping its mode")
    }

    @Test func setFileEncodingFailsNamingTheEntry() async throws {
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try "fine\n".write(toFile: scratch + "/fine", atomically: true, encoding: .utf8)
        try Data([0x41, 0xFF, 0x42]).write(to: URL(fileURLWithPath: scratch + "/latin1"))
        for (path, encoding, why) in [
            (scratch + "/absent", "utf16", "is not a file in the image"),
            (scratch + "/latin1", "utf16", "is not UTF-8 text, which SetFileEncoding converts from"),
            (scratch + "/fine", "{{ build.Name.outputs.stdout }}", "has encoding 'latin9', which is not one of: \(TextEncoding.toeNames)"),
        ] {
            let (_, failure) = try await run(
                """
                      - name: Name
                        action: ExecuteBash
                        inputs: {commands: ['echo latin9']}
                      - name: Encode
                        action: SetFileEncoding
                        inputs:
                          - {path: \(scratch)/fine, encoding: utf32}
                          - {path: \(path), encoding: '\(encoding)'}

                """)
            #expect(
                failure?.message.trimmingCharacters(in: .newlines)
                    == "component 'steps' build step 'Encode' failed with exit code 1 after 1 attempt(s):\nentry 2 (path '\(path)') \(why)",
                "\(String(describing: failure))")
        }
        // The bad encoding was found before any entry ran; the others converted entry 1 first.
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch + "/latin1")) == Data([0x41, 0xFF, 0x42]))
    }

    @Test func theirInputsAreCheckedAtLoad() throws {
        for (steps, problem) in [
            ("{name: E, action: SetFileEncoding, inputs: [{path: /etc/x, encoding: latin1}]}", "encoding 'latin1' is not one of"),
            (
                "{name: L, action: ListFiles, inputs: [{path: /etc, maxDepth: 2}]}",
                "unknown key 'maxDepth'; expected one of: path, fileNamePattern, recursive"
            ),
            ("{name: L, action: ListFiles, inputs: [{path: etc}]}", "each entry needs 'path', an absolute folder path"),
            ("{name: L, action: ListFiles, inputs: [{path: /etc, recursive: maybe}]}", "recursive must be true or false, got 'maybe'"),
            (
                "{name: U, action: S3Upload, inputs: [{source: /etc/x, destination: /tmp/x}]}",
                "each entry needs 'destination', s3://bucket/key"
            ),
            ("{name: U, action: S3Upload, inputs: [{source: /etc/x, destination: 's3://b/', overwrite: true}]}", "unknown key 'overwrite'"),
            ("{name: U, action: S3Upload, inputs: [{source: x, destination: 's3://b/'}]}", "each entry needs 'source', an absolute path"),
            ("{name: U, action: S3Upload, inputs: [{source: '/var/*/x', destination: 's3://b/'}]}", "has a wildcard before its last name"),
        ] {
            #expect(throws: HallmarkError.self) { try loadComponent(ComponentStepTests.document("      - \(steps)\n")) }
            do {
                _ = try loadComponent(ComponentStepTests.document("      - \(steps)\n"))
            } catch {
                #expect("\(error)".contains(problem), "\(error)")
                #expect("\(error)".contains(".yaml:6:"), "file:line:column: \(error)")
            }
        }
    }
}
