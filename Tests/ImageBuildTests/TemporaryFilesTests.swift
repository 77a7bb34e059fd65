import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// Host commands keep their captured output under `$HALLMARK_HOME/tmp`, never the host's /tmp, and
/// what a killed run left there goes once it is a day old.
@Suite struct TemporaryFilesTests {
    @Test func hostCommandOutputStaysInTheHomeAndStaleFilesGo() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-home")
        let home = HallmarkHome(root: scratch.path)
        let file = try home.temporaryFile(suffix: ".out")
        #expect(file.hasPrefix(scratch.path + "/tmp/"))

        let fresh = try scratch.write("tmp/fresh.out", "still in use\n")
        let stale = try scratch.write("tmp/stale.out", "left by a killed run\n")
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-2 * 86400)], ofItemAtPath: stale)
        home.removeStaleTemporaryFiles()
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(!FileManager.default.fileExists(atPath: stale))
    }
}
