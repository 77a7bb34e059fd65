import Foundation
import Testing

@testable import HallmarkModel
@testable import HallmarkSupport
@testable import ImageBuild

/// Records the scripts it is asked to run and answers each with `exitCode`.
final class RecordingExecutor: StepExecutor, @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    let exitCode: Int32

    init(exitCode: Int32 = 0) { self.exitCode = exitCode }

    var scripts: [String] { lock.withLock { recorded } }

    func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
        lock.withLock { recorded.append(bashScript) }
        return StepOutput(exitCode: exitCode, stdout: "", stderr: exitCode == 0 ? "" : "mkinitramfs: failed")
    }

    func reboot() async throws {}
}

@Suite struct InitramfsTests {
    func makeTree() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tree-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/etc/initramfs-tools/conf.d", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/usr/sbin", withIntermediateDirectories: true)
        try "# modules to add, one per line\n".write(toFile: root + "/etc/initramfs-tools/modules", atomically: true, encoding: .utf8)
        return root
    }

    func builder() -> ImageBuilder {
        ImageBuilder(home: HallmarkHome(root: FileManager.default.temporaryDirectory.path), console: Console(quiet: true))
    }

    @Test func virtioImagesGetTheModuleListBeforeTheComponentsRun() throws {
        let root = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try builder().prepareForBoot(rootfs: root, hostname: "x", initramfs: .virtio)
        let config = try String(contentsOfFile: root + "/" + ImageBuilder.initramfsConfigPath, encoding: .utf8)
        #expect(config == "MODULES=list\n")
        let modules = try String(contentsOfFile: root + "/etc/initramfs-tools/modules", encoding: .utf8)
        #expect(modules.split(separator: "\n") == ["virtio_pci", "virtio_blk", "virtio_console", "ext4"])
    }

    @Test func genericImagesKeepDebiansInitramfsSettings() throws {
        let root = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try builder().prepareForBoot(rootfs: root, hostname: "x", initramfs: .generic)
        #expect(!FileManager.default.fileExists(atPath: root + "/" + ImageBuilder.initramfsConfigPath))
        let modules = try String(contentsOfFile: root + "/etc/initramfs-tools/modules", encoding: .utf8)
        #expect(modules == "# modules to add, one per line\n")
    }

    @Test(arguments: [Recipe.InitramfsModules.virtio, .generic])
    func theInitrdIsRemadeOnlyForVirtio(_ modules: Recipe.InitramfsModules) async throws {
        let root = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = BuildLog(path: root + "/build.log")
        try builder().prepareForBoot(rootfs: root, hostname: "x", initramfs: modules)
        let executor = RecordingExecutor()
        try await builder().finishAfterComponents(
            rootfs: root, initramfs: modules, sourceDateEpoch: 1_700_000_000, executor: executor, log: log)
        #expect(executor.scripts == (modules == .virtio ? ["SOURCE_DATE_EPOCH=1700000000 update-initramfs -u -k all\n"] : []))
        // Either way the build's service fence is gone from the image.
        #expect(!FileManager.default.fileExists(atPath: root + "/" + ImageBuilder.policyRCPath))
    }

    @Test func aFailedInitrdFailsTheBuild() async throws {
        let root = try makeTree()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let log = BuildLog(path: root + "/build.log")
        let error = try await #require(throws: HallmarkError.self) {
            try await builder().finishAfterComponents(
                rootfs: root, initramfs: .virtio, sourceDateEpoch: 0, executor: RecordingExecutor(exitCode: 1), log: log)
        }
        #expect(error.code == .buildFailed)
        #expect(error.message.contains("build.initramfs: virtio"))
        #expect(try String(contentsOfFile: root + "/build.log", encoding: .utf8).contains("mkinitramfs: failed"))
    }
}
