import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// How long each build phase took, for the report.
public struct BuildTimings: Codable, Sendable {
    public var bootstrap: Double = 0
    public var components: Double = 0
    public var disk: Double = 0
    /// Writing the tar and OCI outputs, and hashing every output once.
    public var archives: Double = 0
    public var digests: Double = 0
    /// True when the parent came from the cache instead of a fresh mmdebstrap.
    public var parentCached = false
    /// How many components' trees came from the layer cache instead of running.
    public var layersReused = 0
}

/// Builds a recipe into an image: parent rootfs (cached), components in a chroot, ext4 disk,
/// qcow2, the image's own kernel and initrd for direct kernel boot, the same tree as a tar and an
/// OCI layout, and manifest.json with every output's digest.
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
    /// A full disk anywhere in the build is one clear error; like any failure it leaves the log and
    /// nothing else (the scratch directory goes, cache entries and the image are only ever renamed in).
    public func build(_ recipe: Recipe, components: [Component], build: Int, logPath: String) async throws -> (ImageArtifacts, BuildTimings)
    {
        do {
            return try await buildImage(recipe, components: components, build: build, logPath: logPath)
        } catch {
            if let full = DiskFull.error(for: error, home: home, logPath: logPath) { throw full }
            throw error
        }
    }

    private func buildImage(_ recipe: Recipe, components: [Component], build: Int, logPath: String) async throws -> (
        ImageArtifacts, BuildTimings
    ) {
        for tool in [HostTool.mmdebstrap, .mkfsExt4, .qemuImg, .unshare, .tar, .rsync] { _ = try tool.resolve() }
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

        let source = try await ParentSource.resolve(recipe.parent, store: store)
        let parentRecord: ParentRecord
        if let source {
            parentRecord = source.record
        } else if case .debian(let debian) = recipe.parent {
            parentRecord = ParentRecord(kind: "debian", reference: debian.suite, sha256: ParentCache.key(for: debian))
        } else {
            throw HallmarkError(.internalError, "unsupported parent")
        }
        log.write("parent: \(parentRecord.kind) \(parentRecord.reference) sha256:\(parentRecord.sha256)")
        let layers = LayerCache(home: home)
        let plan = LayerPlan(
            baseKey: LayerCache.baseKey(parentKey: source?.key ?? parentRecord.sha256, recipe: recipe), components: components,
            references: recipe.components)
        let reused = plan.newestCached(in: layers)
        let sourceDateEpoch: Int
        if let reused {
            layers.markUsed(reused)
            log.write(
                "layer cache: hit \(reused.key) (the tree after component \(reused.position), \(reused.component); \(reused.sizeBytes) bytes)"
            )
            let (_, restoreTime) = try await console.step("restore the tree after component \(reused.position) from the layer cache") {
                try await layers.restoreCommand(reused.key, into: rootfs).run(logPath: logPath)
            }
            timings.bootstrap = restoreTime.seconds
            timings.parentCached = true
            timings.layersReused = reused.position
            sourceDateEpoch = reused.sourceDateEpoch
        } else if let source {
            let (_, unpackTime) = try await console.step("unpack the \(parentRecord.kind) parent \(parentRecord.reference)") {
                try await source.unpack(into: rootfs, scratch: scratch, logPath: logPath)
            }
            timings.bootstrap = unpackTime.seconds
            sourceDateEpoch = SourceDate.epoch(recipe: recipe, parentTree: rootfs)
        } else if case .debian(let debian) = recipe.parent {
            let cache = ParentCache(directory: home.parentCache)
            let (parentTar, bootstrapTime) = try await console.step("bootstrap \(debian.suite) parent") {
                try await cache.tarball(for: debian, log: log)
            }
            timings.parentCached = parentTar.cached
            try await HostCommand("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", parentTar.path, "-C", rootfs])
                .run(logPath: logPath)
            timings.bootstrap = bootstrapTime.seconds
            sourceDateEpoch = SourceDate.epoch(recipe: recipe, parentTree: rootfs)
        } else {
            throw HallmarkError(.internalError, "unsupported parent")
        }
        log.write("SOURCE_DATE_EPOCH=\(sourceDateEpoch)")

        let start = reused?.position ?? 0
        let running = start == 0 ? "" : " (\(start) from the layer cache)"
        let (steps, componentTime) = try await console.step("run \(components.count) component(s) in a chroot\(running)") {
            if reused == nil { try prepareForBoot(rootfs: rootfs, hostname: recipe.name, initramfs: recipe.build.initramfs) }
            let executor = ChrootExecutor(
                root: rootfs, scratch: scratch + "/step", network: recipe.build.network,
                environment: recipe.build.environment)
            var records: [StepRecord] = reused?.steps ?? []
            let detailed = DetailedOutput.Writer(
                path: (logPath as NSString).deletingLastPathComponent + "/" + DetailedOutput.buildFileName, components: components,
                fromLayerCache: records.count)
            if start < components.count {
                try await PackageLists.refresh(on: executor, tree: TreeFiles(root: rootfs), network: recipe.build.network, log: log.write)
            }
            for index in start..<components.count {
                let (component, reference) = (components[index], recipe.components[index])
                let runner = ComponentRunner(
                    component: component, parameters: reference.parameters, scratch: scratch + "/transfers", log: log.write)
                var outputs: [String: String] = [:]
                do {
                    records += try await runner.run(.build, on: executor, outputs: &outputs)
                    records += try await runner.run(.validate, on: executor, outputs: &outputs)
                } catch let failure as ComponentStepFailure {
                    detailed.write(records + failure.records, failure: failure.message, log: log.write)
                    throw HallmarkError(.buildFailed, "build failed: \(failure.message)", at: failure.location)
                }
                await storeLayer(
                    plan, index: index, in: layers, recipe: recipe, steps: records, sourceDateEpoch: sourceDateEpoch, rootfs: rootfs,
                    log: log)
            }
            detailed.write(records, failure: nil, log: log.write)
            if recipe.build.packageLists == .remove { try PackageLists.remove(from: TreeFiles(root: rootfs)) }
            try await finishAfterComponents(
                rootfs: rootfs, initramfs: recipe.build.initramfs, sourceDateEpoch: sourceDateEpoch, executor: executor, log: log)
            try MachineIdentity.clear(rootfs: rootfs)
            return records
        }
        timings.components = componentTime.seconds

        let disks = recipe.outputs.compactMap(\.disk)
        let (kernel, diskTime) = try await console.step("make \(disks.map(\.rawValue).joined(separator: " and ")) disk") {
            let kernel = try copyKernel(from: rootfs, to: output)
            let raw = output + "/disk.raw"
            try await Self.mkfsCommand(rootfs: rootfs, image: raw, sizeBytes: recipe.disk.sizeBytes).run(logPath: logPath)
            if disks.contains(.qcow2) {
                try await Self.qcow2Command(raw: raw, qcow2: output + "/disk.qcow2", compress: recipe.disk.compress)
                    .run(logPath: logPath)
            }
            if !disks.contains(.raw) { try FileManager.default.removeItem(atPath: raw) }
            return kernel
        }
        timings.disk = diskTime.seconds

        let derived = recipe.outputs.filter { $0.disk == nil }
        var oci: OCILayout.Written?
        if !derived.isEmpty {
            let (written, archiveTime) = try await console.step(
                "write \(derived.map(\.rawValue).joined(separator: " and ")) of the same tree"
            ) {
                try await writeDerivedOutputs(
                    derived, recipe: recipe, rootfs: rootfs, scratch: scratch, output: output,
                    sourceDateEpoch: sourceDateEpoch, log: log)
            }
            oci = written
            timings.archives = archiveTime.seconds
        }

        // Each output is hashed once, here; image.json and manifest.json carry the digests.
        let (fileDigests, digestTime) = try await console.step("hash the outputs") {
            try await OutputManifest.hashFiles(in: output)
        }
        timings.digests = digestTime.seconds
        let manifest = try Self.manifest(
            recipe: recipe, build: build, sourceDateEpoch: sourceDateEpoch, files: fileDigests, oci: oci)
        try manifest.write(to: output)
        log.write(
            "outputs: "
                + manifest.outputs.map { "\($0.path) \($0.evidence.rawValue) \($0.sizeBytes) bytes sha256:\($0.sha256)" }
                .joined(separator: "; "))

        var files = ["vmlinuz": "vmlinuz", "initrd.img": "initrd.img"]
        for format in disks { files[format.artifactRole] = format.artifactRole }
        var artifacts = ImageArtifacts(
            name: recipe.name, version: recipe.version.description, build: build, recipeDigest: recipe.digest,
            builtAt: Date(), kernelVersion: kernel, kernelCommandLine: Self.kernelCommandLine, files: files,
            packages: try await installedPackages(rootfs: rootfs, scratch: scratch), steps: steps.map(\.summary),
            buildDigest: recipe.buildDigest(components: components))
        artifacts.fileDigests = Dictionary(uniqueKeysWithValues: fileDigests.map { ($0.path, $0.sha256) })
        artifacts.sourceDateEpoch = sourceDateEpoch
        artifacts.outputs = recipe.outputs
        artifacts.parent = parentRecord
        try artifacts.write(to: output)
        try FileManager.default.createDirectory(
            atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: output, toPath: destination)
        artifacts.directory = destination
        for entry in layers.removeSuperseded(recipe: recipe.name, keeping: Set(plan.keys)) {
            log.write("layer cache: removed superseded \(entry.key) (after component \(entry.position), \(entry.component))")
        }
        return (artifacts, timings)
    }

    /// `mkfs.ext4 -d` fills the filesystem from a directory: no loop device, no mount.
    public static func mkfsCommand(rootfs: String, image: String, sizeBytes: UInt64) -> HostCommand {
        HostCommand("mkfs.ext4", ["-q", "-F", "-L", "hallmark-root", "-d", rootfs, image, "\(sizeBytes / 1024)k"])
    }

    public static func qcow2Command(raw: String, qcow2: String, compress: Bool = false) -> HostCommand {
        HostCommand("qemu-img", ["convert", "-f", "raw", "-O", "qcow2"] + (compress ? ["-c"] : []) + [raw, qcow2])
    }

    /// Caches the tree after component `index`. A cache that cannot be written (a full disk) costs
    /// the next build time, not this build: it is logged and the build goes on.
    func storeLayer(
        _ plan: LayerPlan, index: Int, in layers: LayerCache, recipe: Recipe, steps: [StepRecord], sourceDateEpoch: Int, rootfs: String,
        log: BuildLog
    ) async {
        let started = ContinuousClock.now
        do {
            let entry = try await layers.store(
                key: plan.keys[index], previousKey: index == 0 ? plan.baseKey : plan.keys[index - 1], position: index + 1,
                component: plan.components[index], recipe: recipe.name, steps: steps, sourceDateEpoch: sourceDateEpoch, tree: rootfs,
                logPath: log.path)
            log.write(
                "layer cache: miss \(entry.key) (the tree after component \(index + 1), \(entry.component)); stored \(entry.sizeBytes) bytes in \(String(format: "%.1f", (ContinuousClock.now - started).seconds)) s"
            )
        } catch {
            log.write("layer cache: miss \(plan.keys[index]); not stored: \(error)")
        }
    }

    /// The rootfs tar and the OCI layout, written from the tree the disk was made from.
    func writeDerivedOutputs(
        _ formats: [OutputFormat], recipe: Recipe, rootfs: String, scratch: String, output: String, sourceDateEpoch: Int,
        log: BuildLog
    ) async throws -> OCILayout.Written? {
        if formats.contains(.tar) {
            try await RootfsArchive.command(
                tree: rootfs, archive: output + "/" + OutputFormat.tar.artifactName, sourceDateEpoch: sourceDateEpoch
            )
            .run(logPath: log.path)
        }
        guard formats.contains(.oci) else { return nil }
        let layer = scratch + "/layer.tar"
        try await RootfsArchive.command(
            tree: rootfs, archive: layer, sourceDateEpoch: sourceDateEpoch, excluding: RootfsArchive.vmOnlyPaths
        )
        .run(logPath: log.path)
        let layout = OCILayout(
            name: recipe.name, version: recipe.version.description, description: recipe.description, sourceDateEpoch: sourceDateEpoch)
        return try layout.write(
            layerTar: layer, layerSHA256: try await Digest.sha256(fileAt: layer), to: output + "/" + OutputFormat.oci.artifactName)
    }

    /// manifest.json: one entry per output, every file with the digest taken when it was written.
    static func manifest(recipe: Recipe, build: Int, sourceDateEpoch: Int, files: [OutputManifest.File], oci: OCILayout.Written?) throws
        -> OutputManifest
    {
        let outputs = try recipe.outputs.map { format -> OutputManifest.Output in
            if format == .oci, let oci {
                return OutputManifest.Output(
                    format: .oci, path: format.artifactName, sizeBytes: oci.manifest.size,
                    sha256: String(oci.manifest.digest.dropFirst("sha256:".count)), tag: recipe.version.description,
                    layerSHA256: String(oci.layer.digest.dropFirst("sha256:".count)))
            }
            guard let file = files.first(where: { $0.path == format.artifactName }) else {
                throw HallmarkError(.internalError, "output \(format.rawValue) was not written")
            }
            return OutputManifest.Output(format: format, path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256)
        }
        return OutputManifest(
            name: recipe.name, version: recipe.version.description, build: build, sourceDateEpoch: sourceDateEpoch, outputs: outputs,
            files: files)
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

    static func initramfsCommand(sourceDateEpoch: Int) -> String {
        "SOURCE_DATE_EPOCH=\(sourceDateEpoch) update-initramfs -u -k all\n"
    }
    static let initramfsConfigPath = "etc/initramfs-tools/conf.d/hallmark-modules.conf"

    /// What a direct-kernel-booted QEMU guest needs before its root is mounted: the virtio PCI
    /// transport, the root disk, the guest channels' port and the root filesystem (initramfs-tools
    /// adds each module's dependencies).
    static let virtioModules = ["virtio_pci", "virtio_blk", "virtio_console", "ext4"]

    /// Components have run: from here on every entry of the tree is a step's to plant, so it is
    /// only touched through `TreeFiles`, and its programs run only in the build sandbox.
    func finishAfterComponents(
        rootfs: String, initramfs: Recipe.InitramfsModules, sourceDateEpoch: Int, executor: some StepExecutor, log: BuildLog
    ) async throws {
        if initramfs == .virtio {
            // The parent's initrd was made with every module, before the setting existed.
            // mkinitramfs clamps the archive's times and compresses without a timestamp under
            // SOURCE_DATE_EPOCH, so the initrd (and the rootfs tar holding it) is reproducible.
            let output = try await executor.run(
                bashScript: Self.initramfsCommand(sourceDateEpoch: sourceDateEpoch), timeout: .seconds(600))
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
