import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// How long each build phase took, for the report.
public struct BuildTimings: Codable, Sendable {
    public var bootstrap: Double = 0
    public var components: Double = 0
    public var disk: Double = 0
    /// True when the parent came from the cache instead of a fresh mmdebstrap.
    public var parentCached = false
}

/// Builds a recipe into an image: parent rootfs (cached), components in a chroot, ext4 disk,
/// qcow2, and the image's own kernel and initrd for direct kernel boot.
public struct ImageBuilder: Sendable {
    public var home: HallmarkHome
    public var console: Console

    public init(home: HallmarkHome, console: Console) {
        self.home = home
        self.console = console
    }

    /// Kernel command line for a disk that is one ext4 filesystem without a partition table.
    public static let kernelCommandLine = "root=/dev/vda rw console=ttyS0 panic=-1 quiet"

    /// Builds the recipe as build number `build`, logging to `logPath`. The image appears in the
    /// store only when complete: it is assembled in a scratch directory and renamed into place.
    public func build(_ recipe: Recipe, components: [Component], build: Int, logPath: String) async throws -> (ImageArtifacts, BuildTimings)
    {
        for tool in [HostTool.mmdebstrap, .mkfsExt4, .qemuImg, .unshare, .tar] { _ = try tool.resolve() }
        var timings = BuildTimings()
        let log = BuildLog(path: logPath)
        let store = ImageStore(home: home)
        let destination = store.directory(name: recipe.name, version: recipe.version.description, build: build)
        guard !FileManager.default.fileExists(atPath: destination) else {
            throw HallmarkError(.buildFailed, "\(destination) already exists; build numbers are never reused")
        }

        let scratch = try home.makeScratchDirectory(under: home.work, prefix: "\(recipe.name)-")
        ChildRegistry.shared.addDirectory(scratch)
        defer {
            try? FileManager.default.removeItem(atPath: scratch)
            ChildRegistry.shared.removeDirectory(scratch)
        }
        let rootfs = scratch + "/rootfs", output = scratch + "/image"
        try FileManager.default.createDirectory(atPath: rootfs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)

        guard case .debian(let debian) = recipe.parent else { throw HallmarkError(.internalError, "unsupported parent") }
        let cache = ParentCache(directory: home.parentCache)
        let (parentTar, bootstrapTime) = try await console.step("bootstrap \(debian.suite) parent") {
            try await cache.tarball(for: debian, log: log)
        }
        timings.parentCached = parentTar.cached
        try await HostCommand("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", parentTar.path, "-C", rootfs])
            .run(logPath: logPath)
        timings.bootstrap = bootstrapTime.seconds

        let (steps, componentTime) = try await console.step("run \(components.count) component(s) in a chroot") {
            try prepareForBoot(rootfs: rootfs, hostname: recipe.name, initramfs: recipe.build.initramfs)
            let executor = ChrootExecutor(
                root: rootfs, scratch: scratch + "/step", network: recipe.build.network,
                environment: recipe.build.environment)
            var records: [StepRecord] = []
            for (component, reference) in zip(components, recipe.components) {
                let runner = ComponentRunner(component: component, parameters: reference.parameters, log: log.write)
                var outputs: [String: String] = [:]
                do {
                    records += try await runner.run(.build, on: executor, outputs: &outputs)
                    records += try await runner.run(.validate, on: executor, outputs: &outputs)
                } catch let failure as ComponentStepFailure {
                    throw HallmarkError(.buildFailed, "build failed: \(failure.message)", at: failure.location)
                }
            }
            try await finishAfterComponents(rootfs: rootfs, initramfs: recipe.build.initramfs, executor: executor, log: log)
            return records
        }
        timings.components = componentTime.seconds

        let (kernel, diskTime) = try await console.step("make \(recipe.outputs.map(\.rawValue).joined(separator: " and ")) disk") {
            let kernel = try copyKernel(from: rootfs, to: output)
            let raw = output + "/disk.raw"
            try await Self.mkfsCommand(rootfs: rootfs, image: raw, sizeBytes: recipe.disk.sizeBytes).run(logPath: logPath)
            if recipe.outputs.contains(.qcow2) {
                try await Self.qcow2Command(raw: raw, qcow2: output + "/disk.qcow2").run(logPath: logPath)
            }
            if !recipe.outputs.contains(.raw) { try FileManager.default.removeItem(atPath: raw) }
            return kernel
        }
        timings.disk = diskTime.seconds

        var files = ["vmlinuz": "vmlinuz", "initrd.img": "initrd.img"]
        for format in recipe.outputs { files[format.artifactRole] = format.artifactRole }
        var artifacts = ImageArtifacts(
            name: recipe.name, version: recipe.version.description, build: build, recipeDigest: recipe.digest,
            builtAt: Date(), kernelVersion: kernel, kernelCommandLine: Self.kernelCommandLine, files: files,
            packages: try await installedPackages(rootfs: rootfs, scratch: scratch), steps: steps,
            buildDigest: recipe.buildDigest(components: components))
        try artifacts.write(to: output)
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: output, toPath: destination)
        artifacts.directory = destination
        return (artifacts, timings)
    }

    /// `mkfs.ext4 -d` fills the filesystem from a directory: no loop device, no mount.
    public static func mkfsCommand(rootfs: String, image: String, sizeBytes: UInt64) -> HostCommand {
        HostCommand("mkfs.ext4", ["-q", "-F", "-L", "hallmark-root", "-d", rootfs, image, "\(sizeBytes / 1024)k"])
    }

    public static func qcow2Command(raw: String, qcow2: String) -> HostCommand {
        HostCommand("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2])
    }

    /// What a bootable image needs that mmdebstrap does not write. The tree is still the parent's here.
    func prepareForBoot(rootfs: String, hostname: String, initramfs: Recipe.InitramfsModules) throws {
        let tree = TreeFiles(root: rootfs)
        try tree.write("/dev/vda / ext4 defaults,errors=remount-ro 0 1\n", to: "etc/fstab")
        try tree.write("\(hostname)\n", to: "etc/hostname")
        if initramfs == .virtio {
            // Written before the components, so a kernel a step installs gets the small initrd too.
            try tree.write("MODULES=list\n", to: Self.initramfsConfigPath)
            try tree.write(Self.virtioModules.joined(separator: "\n") + "\n", to: "etc/initramfs-tools/modules")
        }
        // Package scripts run by components must not start services inside the build's tree.
        try tree.write("#!/bin/sh\nexit 101\n", to: Self.policyRCPath, mode: 0o755)
    }

    static let policyRCPath = "usr/sbin/policy-rc.d"
    static let initramfsConfigPath = "etc/initramfs-tools/conf.d/hallmark-modules.conf"

    /// What a direct-kernel-booted QEMU guest needs before its root is mounted: the virtio PCI
    /// transport, the root disk, the guest channels' port and the root filesystem (initramfs-tools
    /// adds each module's dependencies).
    static let virtioModules = ["virtio_pci", "virtio_blk", "virtio_console", "ext4"]

    /// Components have run: from here on every entry of the tree is a step's to plant, so it is
    /// only touched through `TreeFiles`, and its programs run only in the build sandbox.
    func finishAfterComponents(
        rootfs: String, initramfs: Recipe.InitramfsModules, executor: some StepExecutor, log: BuildLog
    ) async throws {
        if initramfs == .virtio {
            // The parent's initrd was made with every module, before the setting existed.
            let output = try await executor.run(bashScript: "update-initramfs -u -k all\n", timeout: .seconds(600))
            log.write(output.stdout + output.stderr)
            guard output.exitCode == 0 else {
                throw HallmarkError(
                    .buildFailed, "update-initramfs failed (exit \(output.exitCode)) for build.initramfs: virtio; see build.log")
            }
        }
        try TreeFiles(root: rootfs).remove(Self.policyRCPath)
    }

    /// Copies the newest installed kernel and its initrd; returns the kernel version.
    func copyKernel(from rootfs: String, to output: String) throws -> String {
        let tree = TreeFiles(root: rootfs)
        let boot = try tree.kind("boot") == .directory ? try tree.contentsOfDirectory("boot") : []
        let versions = boot.filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard let version = versions.last else {
            throw HallmarkError(.invalidInput, "the image has no kernel in /boot; add linux-image-amd64 to the parent's packages")
        }
        guard boot.contains("initrd.img-\(version)") else {
            throw HallmarkError(.invalidInput, "the image has kernel \(version) but no initrd; install initramfs-tools")
        }
        try tree.copyFile("boot/vmlinuz-\(version)", to: output + "/vmlinuz")
        try tree.copyFile("boot/initrd.img-\(version)", to: output + "/initrd.img")
        return version
    }

    /// The image's package list, read from a copy of its dpkg status: `--admindir` on the tree
    /// itself would follow a link a step planted at /var/lib/dpkg to the host's own.
    func installedPackages(rootfs: String, scratch: String) async throws -> [String] {
        let admin = scratch + "/dpkg-admin"
        try FileManager.default.createDirectory(atPath: admin + "/updates", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: admin) }
        try TreeFiles(root: rootfs).copyFile("var/lib/dpkg/status", to: admin + "/status")
        let listing = try await HostCommand("dpkg-query", ["--admindir=\(admin)", "-W", "-f=${Package} ${Version}\\n"]).output()
        return listing.split(separator: "\n").map(String.init).sorted()
    }
}

/// Appends lines to build.log.
public struct BuildLog: Sendable {
    public var path: String

    public init(path: String) {
        self.path = path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
    }

    @Sendable public func write(_ text: String) {
        guard let handle = FileHandle(forWritingAtPath: path) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
    }
}
