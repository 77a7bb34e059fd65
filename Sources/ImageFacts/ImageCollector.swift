import Compliance
import Foundation
import HallmarkSupport

/// A root filesystem to read static facts from without booting it.
public enum ImageRoot: Sendable, Equatable, CustomStringConvertible {
    /// An unpacked root filesystem (`hallmark policy test --rootfs DIR`).
    case directory(String)
    /// A disk artifact holding one ext4 filesystem without a partition table, as Hallmark builds
    /// them; `format` is `raw` or `qcow2`.
    case disk(path: String, format: String)

    /// A directory, or a disk whose format its first bytes tell (qcow2's magic, raw otherwise;
    /// the collector then checks that it holds ext4).
    public init(path: String) throws {
        // Absolute, so no path can be taken for an option by the tools it is handed to.
        let path = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw HallmarkError(.usage, "\(path): no such file or directory")
        }
        if isDirectory.boolValue {
            self = .directory(path)
            return
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw HallmarkError(.usage, "\(path): cannot read it") }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        self = .disk(path: path, format: magic == Data([0x51, 0x46, 0x49, 0xfb]) ? "qcow2" : "raw")
    }

    public var description: String {
        switch self {
        case .directory(let path): path
        case .disk(let path, _): path
        }
    }
}

/// Runs a collector plan's static probes against an image on the host, fenced by `hallmark-sandbox`:
/// - the image is mounted read-only, nosuid, nodev in new mount, PID, network, IPC and UTS
///   namespaces and becomes the collector's root: the host's tree is detached, so no chroot
///   escape, link or `..` leads back to it; when the collector ends, the kernel kills whatever it
///   left running, and the mounts and the loop device go with the namespace;
/// - `/run` and `/dev` are fresh (tmpfs, with device nodes of their own, as on a running system,
///   where the image's own are hidden too); scratch files go to `TMPDIR=/run/hallmark-tmp`, so the
///   image's own `/tmp` stays visible and unwritten; the script arrives on standard input, so no
///   probe sees its frame boundary in an argv or a file;
/// - the collector keeps one capability, `dac_override`, to read every file: not
///   `dac_read_search`, whose `open_by_handle_at` reaches any file of a filesystem by number,
///   and nothing that mounts, changes root or makes devices; a clean environment, no new privileges.
///
/// Under TCG a guest needs about 20 s to hash every package file for `dpkg --verify`; the host needs 2.
public struct ImageCollector: Sendable {
    /// A directory of its own for the mount point and, for a qcow2 disk, its raw copy; removed by the caller.
    public var scratch: String
    /// The collection is killed after this long.
    public var timeout: Duration

    public init(scratch: String, timeout: Duration = .seconds(600)) {
        self.scratch = scratch
        self.timeout = timeout
    }

    /// Runs `plan` against `root` and returns what each probe printed. Throws, naming the cause,
    /// when the root cannot be mounted here (no root privileges, no loop devices, not ext4).
    public func collect(_ plan: CollectorPlan, from root: ImageRoot) async throws -> [ProbeKey: ProbeOutput] {
        guard getuid() == 0 else {
            throw HallmarkError(.needsRoot, "reading the files of \(root) needs root (mount and a private root)")
        }
        for tool in [HostTool.unshare, .mount, .timeout, .nice] { _ = try tool.resolve() }
        let helper = try Sandbox.helperPath()
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)

        let rootMount: Sandbox.RootMount
        var sandboxRoot = scratch + "/root"
        switch root {
        case .directory(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                FileManager.default.fileExists(atPath: path + "/bin/sh")
            else {
                throw HallmarkError(.usage, "\(path) is not an unpacked root filesystem (no bin/sh)")
            }
            rootMount = .readOnlyDirectory
            sandboxRoot = path
        case .disk(let path, "raw"):
            rootMount = .ext4Disk(path)
        case .disk(let path, "qcow2"):
            // A loop device reads raw bytes only; the copy is sparse, and gone with the scratch directory.
            _ = try HostTool.qemuImg.resolve()
            try await Self.refuseExternalFiles(qcow2: path)
            let raw = scratch + "/disk.raw"
            try await HostCommand("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", "--", path, raw]).run(
                logPath: scratch + "/convert.log")
            rootMount = .ext4Disk(raw)
        case .disk(let path, let format):
            throw HallmarkError(.usage, "\(path): cannot read a \(format) disk; raw and qcow2 are supported")
        }
        if case .ext4Disk(let disk) = rootMount {
            guard let ext4 = Self.holdsExt4(disk) else { throw HallmarkError(.usage, "\(root): cannot read it") }
            guard ext4 else {
                throw HallmarkError(
                    .usage, "\(root) is not an ext4 filesystem image (Hallmark's disks hold one ext4 filesystem, no partition table)")
            }
            try FileManager.default.createDirectory(atPath: sandboxRoot, withIntermediateDirectories: true)
        }

        let scriptPath = scratch + "/collector.sh", outputPath = scratch + "/collector.out", errorPath = scratch + "/collector.err"
        try plan.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        defer { for path in [scriptPath, outputPath, errorPath] { try? FileManager.default.removeItem(atPath: path) } }
        let sandbox = Self.sandbox(root: sandboxRoot, mount: rootMount, script: scriptPath).command(helper: helper)
        let seconds = Int(timeout.components.seconds)
        // Below the guest's priority: this runs while QEMU boots it on the same cores.
        let command = HostCommand(
            "timeout", ["-k", "5", String(seconds), "nice", "-n", "10", sandbox.executable] + sandbox.arguments,
            environment: sandbox.environment, inheritsEnvironment: false)
        let child = try ChildProcess.spawn(command, outputPath: outputPath, errorPath: errorPath)
        let termination = await child.wait()
        try Task.checkCancellation()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard termination.succeeded else {
            let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            let reason = termination == .exited(124) ? "did not finish within \(seconds) s" : "failed (\(termination))"
            throw HallmarkError(.hostFailure, "collecting facts from \(root) \(reason): \(lastLines(of: errors, count: 5))")
        }
        return try plan.parse(output)
    }

    /// The sandbox the collector runs in; a value so it can be unit-tested. The script arrives on
    /// standard input, so its frame boundary is in no argv and no file a probe could read.
    static func sandbox(root: String, mount: Sandbox.RootMount, script: String) -> Sandbox {
        // The collector's own stderr would mix with its framed output (each probe's is captured).
        var sandbox = Sandbox(root: root, rootMount: mount, program: ["/bin/sh", "-c", "exec 2>/dev/null; " + CollectorPlan.command])
        sandbox.run = true
        sandbox.temporaryDirectory = "/run/hallmark-tmp"
        sandbox.standardInput = script
        sandbox.capabilities = ["dac_override"]
        sandbox.environment = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR": "/run/hallmark-tmp"]
        return sandbox
    }

    /// A qcow2 may name a backing file or an external data file: a host file or device whose bytes
    /// would end up in the facts. Hallmark reads self-contained images only.
    static func refuseExternalFiles(qcow2 path: String) async throws {
        let text = try await HostCommand("qemu-img", ["info", "--output=json", "-f", "qcow2", path]).output()
        guard let info = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            throw HallmarkError(.usage, "\(path): qemu-img info gave no readable description")
        }
        if let backing = info["backing-filename"] as? String ?? info["full-backing-filename"] as? String {
            throw HallmarkError(.usage, "\(path) has a backing file (\(backing)); Hallmark reads only self-contained qcow2 images")
        }
        let specific = (info["format-specific"] as? [String: Any])?["data"] as? [String: Any]
        if let dataFile = specific?["data-file"] as? String {
            throw HallmarkError(
                .usage, "\(path) keeps its data in an external file (\(dataFile)); Hallmark reads only self-contained qcow2 images")
        }
    }

    /// The ext4 superblock starts 1024 bytes in; its magic 0xEF53 sits 56 bytes into it. nil: unreadable.
    static func holdsExt4(_ path: String) -> Bool? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: 1024 + 56)) != nil, let magic = try? handle.read(upToCount: 2) else { return nil }
        return magic == Data([0x53, 0xEF])
    }
}
