import Distribution
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@Suite struct DirectoryTargetTests {
    private func files(in directory: TemporaryDirectory) async throws -> [ShippedFile] {
        let disk = try directory.write("disk.qcow2", Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }))
        let envelope = try directory.write("report.dsse.json", #"{"payloadType": "application/vnd.in-toto+json"}"#)
        return [
            ShippedFile(name: "disk.qcow2", source: disk, sha256: try await Digest.sha256(fileAt: disk)),
            ShippedFile(name: "report.dsse.json", source: envelope, sha256: try await Digest.sha256(fileAt: envelope)),
        ]
    }

    @Test func aBuildLandsWholeAndARerunCopiesNothing() async throws {
        let sources = try TemporaryDirectory(prefix: "hallmark-ship")
        let region = try TemporaryDirectory(prefix: "hallmark-region")
        defer { sources.remove(); region.remove() }
        let shipped = try await files(in: sources)
        let target = DirectoryTarget(root: region.path)
        let first = try await target.publish(shipped, subdirectory: "base/1.0.0-3")
        #expect(first.copied == ["disk.qcow2", "report.dsse.json", "SHA256SUMS"])
        for file in shipped {
            #expect(try await Digest.sha256(fileAt: first.directory + "/" + file.name) == file.sha256)
        }
        #expect(
            try String(contentsOfFile: first.directory + "/SHA256SUMS", encoding: .utf8)
                == shipped.map { "\($0.sha256)  \($0.name)\n" }.joined())
        // Nothing is left aside once a build is complete.
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: region.path + "/.hallmark-staging")) ?? []).isEmpty)
        let again = try await target.publish(shipped, subdirectory: "base/1.0.0-3")
        #expect(again.copied.isEmpty)
    }

    @Test func aRunCutShortIsCompletedAndADamagedFileReplaced() async throws {
        let sources = try TemporaryDirectory(prefix: "hallmark-ship")
        let region = try TemporaryDirectory(prefix: "hallmark-region")
        defer { sources.remove(); region.remove() }
        let shipped = try await files(in: sources)
        let target = DirectoryTarget(root: region.path)
        // What a killed run leaves: a half-copied file aside, the envelope in place, no SHA256SUMS.
        let destination = region.file("base/1.0.0-3")
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: region.file(".hallmark-staging/base_1.0.0-3"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: region.file(".hallmark-staging/base_1.0.0-3/disk.qcow2")))
        try FileManager.default.copyItem(atPath: shipped[1].source, toPath: destination + "/report.dsse.json")
        let resumed = try await target.publish(shipped, subdirectory: "base/1.0.0-3")
        #expect(resumed.copied == ["disk.qcow2", "SHA256SUMS"])
        #expect(try await Digest.sha256(fileAt: destination + "/disk.qcow2") == shipped[0].sha256)

        try Data("tampered".utf8).write(to: URL(fileURLWithPath: destination + "/report.dsse.json"))
        let repaired = try await target.publish(shipped, subdirectory: "base/1.0.0-3")
        #expect(repaired.copied == ["report.dsse.json"])
    }

    @Test func aSourceChangedAfterVerificationIsNotShipped() async throws {
        let sources = try TemporaryDirectory(prefix: "hallmark-ship")
        let region = try TemporaryDirectory(prefix: "hallmark-region")
        defer { sources.remove(); region.remove() }
        var shipped = try await files(in: sources)
        shipped[0].sha256 = String(repeating: "0", count: 64)
        let error = await #expect(throws: HallmarkError.self) {
            try await DirectoryTarget(root: region.path).publish(shipped, subdirectory: "base/1.0.0-3")
        }
        #expect(error?.description.contains("changed after verification") == true)
        #expect(!FileManager.default.fileExists(atPath: region.file("base/1.0.0-3/disk.qcow2")))
        #expect(!FileManager.default.fileExists(atPath: region.file("base/1.0.0-3/SHA256SUMS")))
    }
}
