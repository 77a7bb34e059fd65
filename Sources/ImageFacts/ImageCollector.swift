import Compliance
import Foundation
import HallmarkSupport

/// A root filesystem to read static facts from without booting it.
public enum ImageRoot: Sendable, Equatable {
    /// An unpacked root filesystem (`hallmark policy test --rootfs DIR`).
    case directory(String)
    /// A disk artifact holding one ext4 filesystem without a partition table, as Hallmark builds
    /// them; `format` is `raw` or `qcow2`.
    case disk(path: String, format: String)

    public var description: String {
        switch self {
        case .directory(let path): path
        case .disk(let path, _): path
        }
    }
}

/// Runs a collector plan's static probes against an image on the host: the root is mounted
/// read-only in a private mount namespace, with empty tmpfs on its /tmp and /run for the scratch
/// files probes write and the host's null, zero, full, random and urandom devices in its /dev, and
/// the plan runs there in a chroot with a clean environment.
///
/// The namespace dies with the command, taking the mounts (and the loop device of a disk) with
/// it, so nothing stays mounted however the run ends, and nothing can write to the image. Under
/// TCG a guest needs about 20 s to hash every package file for `dpkg --verify`; the host needs 2.
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
    public func collect(_ plan: CollectorPlan, from root: ImageRoot) async throws -> [String: ProbeOutput] {
        guard getuid() == 0 else {
            throw HallmarkError(.infrastructure, "reading an image's files needs root (mount and chroot)")
        }
        for tool in [HostTool.unshare, .mount, .chroot, .timeout] { _ = try tool.resolve() }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let mountPoint = scratch + "/root"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)

        let source: (kind: String, path: String)
        switch root {
        case .directory(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
                  FileManager.default.fileExists(atPath: path + "/bin/sh") else {
                throw HallmarkError(.usage, "\(path) is not an unpacked root filesystem (no bin/sh)")
            }
            source = ("directory", path)
        case .disk(let path, "raw"):
            source = ("disk", path)
        case .disk(let path, "qcow2"):
            // A loop device reads raw bytes only; the copy is sparse, and gone with the scratch directory.
            let raw = scratch + "/disk.raw"
            try await HostCommand("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", path, raw]).run()
            source = ("disk", raw)
        case .disk(_, let format):
            throw HallmarkError(.usage, "cannot read a \(format) disk; raw and qcow2 are supported")
        }
        if source.kind == "disk", !Self.holdsExt4(source.path) {
            throw HallmarkError(.usage, "\(root.description) is not an ext4 filesystem image (Hallmark's disks hold one ext4 filesystem, no partition table)")
        }

        let outputPath = scratch + "/collector.out"
        let seconds = Int(timeout.components.seconds)
        // The collector's own stderr would mix with its framed output; each probe's is captured anyway.
        let command = HostCommand("timeout", ["-k", "5", String(seconds), "unshare", "--mount", "--propagation", "private",
                                              "/bin/sh", "-c", Self.mountAndRun, "hallmark-image-facts",
                                              source.kind, source.path, mountPoint, "exec 2>/dev/null\n" + plan.script])
        let child = try ChildProcess.spawn(command, outputPath: outputPath)
        let termination = await child.wait()
        try Task.checkCancellation()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outputPath)
        guard termination.succeeded else {
            let reason = termination == .exited(124) ? "did not finish within \(seconds) s" : "failed (\(termination))"
            throw HallmarkError(.infrastructure, "collecting facts from \(root.description) \(reason): \(lastLines(of: output, count: 5))")
        }
        return try plan.parse(output)
    }

    /// The ext4 superblock starts 1024 bytes in; its magic 0xEF53 sits 56 bytes into it.
    static func holdsExt4(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: 1024 + 56)) != nil, let magic = try? handle.read(upToCount: 2) else { return false }
        return magic == Data([0x53, 0xEF])
    }

    /// Run by `sh -c` inside the new mount namespace with: kind (`disk` or `directory`), source,
    /// mount point, collector script. Mounts are private to the namespace, and read-only.
    static let mountAndRun = """
        set -e
        case $1 in
          disk) mount -t ext4 -o loop,ro,noload,nodev "$2" "$3" ;;
          directory) mount --bind "$2" "$3"; mount -o remount,bind,ro,nodev "$3" ;;
        esac
        for d in tmp dev; do [ -d "$3/$d" ] || { echo "the image has no /$d" >&2; exit 1; }; done
        mount -t tmpfs -o mode=1777,size=256m hallmark-tmp "$3/tmp"
        [ ! -d "$3/run" ] || mount -t tmpfs -o mode=755,size=64m hallmark-run "$3/run"
        # An image's /dev is empty until udev runs; probes need the harmless character devices.
        mount -t tmpfs -o mode=755,size=1m hallmark-dev "$3/dev"
        for d in null zero full random urandom; do : >"$3/dev/$d"; mount --bind "/dev/$d" "$3/dev/$d"; done
        exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin chroot "$3" /bin/sh -c "$4"
        """
}
