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

/// Runs a collector plan's static probes against an image on the host, as root but fenced in:
/// - the root is mounted read-only in new mount, PID, network, IPC and UTS namespaces; when the
///   collector (PID 1 there) ends, the kernel kills whatever it left running, and the mounts and
///   the loop device of a disk go with the namespace, so nothing stays mounted however the run ends;
/// - `/run` and `/dev` get empty tmpfs (as on a running system, where the image's own are hidden
///   too), with the host's null, zero, full, random and urandom bound in `/dev`; scratch files
///   go to `TMPDIR=/run/hallmark-tmp`, so the image's own `/tmp` stays visible and unwritten;
/// - the collector runs in a chroot with a clean environment, no new privileges and only the
///   capabilities reading every file needs.
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
    public func collect(_ plan: CollectorPlan, from root: ImageRoot) async throws -> [String: ProbeOutput] {
        guard getuid() == 0 else {
            throw HallmarkError(.usage, "reading the files of \(root) needs root (mount and chroot)")
        }
        for tool in [HostTool.unshare, .mount, .chroot, .timeout, .setpriv, .nice] { _ = try tool.resolve() }
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
            _ = try HostTool.qemuImg.resolve()
            let raw = scratch + "/disk.raw"
            try await HostCommand("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", "--", path, raw]).run(logPath: scratch + "/convert.log")
            source = ("disk", raw)
        case .disk(let path, let format):
            throw HallmarkError(.usage, "\(path): cannot read a \(format) disk; raw and qcow2 are supported")
        }
        if source.kind == "disk" {
            guard let ext4 = Self.holdsExt4(source.path) else { throw HallmarkError(.usage, "\(root): cannot read it") }
            guard ext4 else {
                throw HallmarkError(.usage, "\(root) is not an ext4 filesystem image (Hallmark's disks hold one ext4 filesystem, no partition table)")
            }
        }

        let outputPath = scratch + "/collector.out"
        let seconds = Int(timeout.components.seconds)
        // Below the guest's priority: this runs while QEMU boots it on the same cores.
        let command = HostCommand("timeout", ["-k", "5", String(seconds), "nice", "-n", "10",
                                              "unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
                                              "--net", "--ipc", "--uts",
                                              "/bin/sh", "-c", Self.mountAndRun, "hallmark-image-facts",
                                              source.kind, source.path, mountPoint, plan.script])
        let child = try ChildProcess.spawn(command, outputPath: outputPath)
        let termination = await child.wait()
        try Task.checkCancellation()
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: outputPath)
        guard termination.succeeded else {
            let reason = termination == .exited(124) ? "did not finish within \(seconds) s" : "failed (\(termination))"
            throw HallmarkError(.infrastructure, "collecting facts from \(root) \(reason): \(lastLines(of: output, count: 5))")
        }
        return try plan.parse(output)
    }

    /// The ext4 superblock starts 1024 bytes in; its magic 0xEF53 sits 56 bytes into it. nil: unreadable.
    static func holdsExt4(_ path: String) -> Bool? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard (try? handle.seek(toOffset: 1024 + 56)) != nil, let magic = try? handle.read(upToCount: 2) else { return nil }
        return magic == Data([0x53, 0xEF])
    }

    /// Run by `sh -c` inside the new namespaces with: kind (`disk` or `directory`), source, mount
    /// point, collector script. The collector's own stderr would mix with its framed output (each
    /// probe's is captured), so it goes to /dev/null once that exists.
    static let mountAndRun = """
        set -e
        case $1 in
          disk) mount -t ext4 -o loop,ro,noload,nodev "$2" "$3" ;;
          directory) mount --bind "$2" "$3"; mount -o remount,bind,ro,nodev "$3" ;;
        esac
        for d in run dev; do
          # A symbolic link would be followed to a path outside the image.
          if [ -L "$3/$d" ] || [ ! -d "$3/$d" ]; then echo "the image's /$d is not a directory" >&2; exit 1; fi
        done
        mount -t tmpfs -o mode=755,size=256m,nosuid,nodev hallmark-run "$3/run"
        mkdir -m 1777 "$3/run/hallmark-tmp"
        mount -t tmpfs -o mode=755,size=1m,nosuid,nodev hallmark-dev "$3/dev"
        for d in null zero full random urandom; do : >"$3/dev/$d"; mount --bind "/dev/$d" "$3/dev/$d"; done
        exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TMPDIR=/run/hallmark-tmp \\
          setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,+dac_override,+dac_read_search,+sys_chroot \\
          chroot "$3" /bin/sh -c "exec 2>/dev/null
        $4"
        """
}
