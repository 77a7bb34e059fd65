import Foundation
import HallmarkTestSupport
import Testing

@testable import HallmarkSupport

/// A file's digest skips reading its holes but hashes the zeros they read as: the same digest as
/// openssl reading the whole file, for data at the start, between holes, at the end, and none.
@Suite struct FileDigestTests {
    func openssl(_ path: String) async throws -> String {
        let output = try await HostCommand("openssl", ["dgst", "-sha256", "-r", "--", path]).output()
        return String(output.prefix(64))
    }

    @Test(arguments: [
        [(0, 100)],  // data, then one long hole to the end
        [(5_000_000, 3_000_000), (20_000_000, 10)],  // a hole first, data between holes, a hole at the end
        [(0, 1 << 20), (9 << 20, 4097)],  // data ending the file
        [],  // nothing but a hole
    ])
    func sparseFilesHashAsTheirBytes(extents: [(Int, Int)]) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("sparse.raw")
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for (offset, count) in extents {
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ offset) }))
        }
        try handle.truncate(atOffset: UInt64(max(32 << 20, (extents.last.map { $0.0 + $0.1 } ?? 0))))
        try handle.close()
        #expect(try await Digest.sha256(fileAt: path) == openssl(path))
        #expect(try await Digest.sha256(fileAt: path, lowPriority: true) == openssl(path))
    }

    @Test func anEmptyFileAndAMissingOne() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let empty = try directory.write("empty", "")
        #expect(try await Digest.sha256(fileAt: empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        await #expect(throws: HallmarkError.self) { try await Digest.sha256(fileAt: directory.file("missing")) }
    }
}
