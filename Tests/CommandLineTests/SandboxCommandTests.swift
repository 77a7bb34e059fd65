import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// Hostile input to `hallmark policy test --rootfs` that needs no built image: a crafted tree and
/// qcow2 files that point at host files.
@Suite(.serialized, .tags(.binary, .root)) struct SandboxCommandTests {
    /// `policy test --rootfs` on a tree whose /bin/sh tries the chroot escape: nothing is written on
    /// the host and the signing key in the environment stays unread.
    @Test func craftedTreeCannotEscapeTheCollector() async throws {
        let scratch = Hallmark.scratchReports()
        let tree = scratch + "/tree", marker = "/tmp/hallmark-escape-\(UUID().uuidString.prefix(8))"
        defer {
            try? FileManager.default.removeItem(atPath: scratch)
            try? FileManager.default.removeItem(atPath: marker)
        }
        for directory in ["bin", "dev", "run", "tmp"] {
            try FileManager.default.createDirectory(atPath: tree + "/" + directory, withIntermediateDirectories: true)
        }
        let key = scratch + "/keys/hallmark.key"
        _ = try await Hallmark.run(["key", "generate", "--out", scratch + "/keys"], reports: scratch, passReports: false)
        let keyText = try String(contentsOfFile: key, encoding: .utf8)
        try await HostCommand(
            "gcc",
            [
                "-static", "-O1", "-DMARKER=\"\(marker)\"", "-DSECRET=\"\(key)\"", "-o", tree + "/bin/sh",
                Repository.root + "/Tests/Fixtures/hostile/escape.c",
            ]
        ).run()

        let run = try await Hallmark.run(
            ["policy", "test", Repository.root + "/policies/debian-baseline.yaml", "--rootfs", tree],
            reports: scratch, passReports: false, environment: ["HALLMARK_SIGNING_KEY": key])
        // The escape program answers no probe: the collection fails, and says so.
        #expect(run.status != .exited(0), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        let keyBody = keyText.split(separator: "\n").dropFirst().first.map(String.init) ?? "no key"
        #expect(!run.output.contains(keyBody), "\(run.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree + "/tmp").isEmpty)
        #expect(Hallmark.loopDevices().isEmpty)
    }

    /// A qcow2 that takes its bytes from a host file (backing file, external data file) is refused
    /// before anything of it is read.
    @Test func qcow2WithExternalFilesIsRefused() async throws {
        let scratch = Hallmark.scratchReports()
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let host = scratch + "/host-secret.raw"
        _ = FileManager.default.createFile(atPath: host, contents: Data(repeating: 0x41, count: 1 << 20))
        let backed = scratch + "/backed.qcow2", external = scratch + "/external.qcow2"
        try await HostCommand("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", host, backed]).run()
        try await HostCommand("qemu-img", ["create", "-q", "-f", "qcow2", "-o", "data_file=\(host),data_file_raw=on", external, "1M"]).run()
        for (disk, reason) in [(backed, "has a backing file"), (external, "keeps its data in an external file")] {
            let run = try await Hallmark.run(
                ["policy", "test", Repository.root + "/policies/debian-baseline.yaml", "--rootfs", disk], reports: scratch,
                passReports: false)
            #expect(run.status == .exited(64), "\(run.output)")
            #expect(run.output.contains(reason), "\(run.output)")
        }
    }
}
