import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import ImageStore
import Testing

/// `$HALLMARK_HOME/work` on a 32 MiB tmpfs mounted in a private mount namespace of the build
/// alone (it goes with the process): unpacking the parent runs out of space, the build says so
/// and keeps nothing but its log.
extension EndToEndTests.FullDisk {
    @Test func aFullWorkDiskIsOneClearErrorAndLeavesOnlyTheLog() async throws {
        let name = "e2e-full-disk"
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        defer { EndToEndTests.removeImages(named: name) }
        let recipe = try EndToEndTests.parentRecipe(
            name: name,
            parent: "  debian: {suite: bookworm, packages: [systemd-sysv, udev, linux-image-amd64, qemu-guest-agent, openssh-server]}",
            in: scratch.path)
        let home = SharedImages.home
        try FileManager.default.createDirectory(atPath: home.work, withIntermediateDirectories: true)
        let reports = Hallmark.scratchReports()
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let cacheBefore = Set(ImageBuild.LayerCache(home: home).list().map(\.key))

        let mountThenBuild = #"mount -t tmpfs -o size=32m hallmark-full-disk "$1" && shift && exec "$@""#
        let output = reports + "/full-disk.out"
        let child = try ChildProcess.spawn(
            HostCommand(
                "unshare",
                [
                    "--mount", "--propagation", "private", "sh", "-c", mountThenBuild, "sh", home.work, Hallmark.binary, "build", recipe,
                    "--reports", reports,
                ],
                environment: ["HALLMARK_HOME": home.root]),
            outputPath: output)
        let status = await child.wait()
        let text = try String(contentsOfFile: output, encoding: .utf8)
        #expect(!status.succeeded, "\(text)")
        #expect(text.contains("no space left on the disk holding \(home.work)"), "\(text)")

        // Only the log: no image, no build directory in the store, no new cache entry, no mount.
        #expect(try ImageStore(home: home).latest(name: name, version: "1.0.0") == nil)
        #expect(ImageStore(home: home).builds(name: name, version: "1.0.0").isEmpty)
        #expect(Set(ImageBuild.LayerCache(home: home).list().map(\.key)).subtracting(cacheBefore).isEmpty)
        let logs = (FileManager.default.enumerator(atPath: reports + "/" + name)?.allObjects as? [String] ?? []).filter {
            $0.hasSuffix("build.log")
        }
        #expect(logs.count == 1, "\(logs)")
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains("hallmark-full-disk"))
    }
}
