import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// A recipe's parent other than a Debian suite, resolved to the file its tree is unpacked from and
/// the identity (sha256 of that file) that enters the layer cache key, image.json and the evidence.
struct ParentSource: Sendable {
    enum Content: Sendable {
        case tarball(String)
        case disk(String, DiskFormat)
    }

    var content: Content
    var record: ParentRecord

    /// Hashes the tarball or disk; a parent image's disk digest comes from its image.json (taken
    /// when it was written), so it is not hashed again.
    static func resolve(_ parent: Recipe.Parent, store: ImageStore) async throws -> ParentSource? {
        switch parent {
        case .debian:
            return nil
        case .tarball(let path):
            let digest = try await Digest.sha256(fileAt: path)
            return ParentSource(content: .tarball(path), record: ParentRecord(kind: "tarball", reference: path, sha256: digest))
        case .disk(let path):
            let format = try diskFormat(of: path)
            let digest = try await Digest.sha256(fileAt: path)
            return ParentSource(content: .disk(path, format), record: ParentRecord(kind: "disk", reference: path, sha256: digest))
        case .image(let wanted):
            guard
                let image = try store.newest(
                    name: wanted.name, matching: { SemanticVersion($0).map(wanted.version.matches) ?? false })
            else {
                throw HallmarkError(
                    .invalidInput,
                    "no image \(wanted.name) with a version matching \(wanted.version) in \(store.home.images); build it first")
            }
            let disk = image.bootDisk
            let relative = String(disk.path.dropFirst(image.directory.count + 1))
            let digest: String
            if let recorded = image.fileDigests?[relative] {
                digest = recorded
            } else {
                digest = try await Digest.sha256(fileAt: disk.path)
            }
            return ParentSource(
                content: .disk(disk.path, disk.format), record: ParentRecord(kind: "image", reference: image.reference, sha256: digest))
        }
    }

    /// The layer cache key of the tree before any component.
    var key: String { Digest.sha256("parent-\(record.kind)=\(record.sha256)") }

    /// Unpacks the parent into the empty directory `rootfs`. A disk is read with debugfs, never
    /// mounted: a qcow2 is first converted to a raw copy in `scratch` (removed with it).
    func unpack(into rootfs: String, scratch: String, logPath: String) async throws {
        try await Self.unpack(content, into: rootfs, scratch: scratch, logPath: logPath)
    }

    static func unpack(_ content: Content, into rootfs: String, scratch: String, logPath: String) async throws {
        switch content {
        case .tarball(let path):
            try await HostCommand("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", path, "-C", rootfs])
                .run(logPath: logPath)
        case .disk(let path, let format):
            var raw = path
            if format == .qcow2 {
                raw = scratch + "/parent.raw"
                try await HostCommand("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", path, raw]).run(logPath: logPath)
            }
            // rdump keeps owners, modes and symlinks; it reports a bad filesystem on stderr but exits 0.
            let output = try await HostCommand("debugfs", ["-R", "rdump / \(rootfs)", raw]).output()
            let problems = output.split(separator: "\n").filter { !$0.hasPrefix("debugfs ") }
            guard problems.isEmpty else {
                throw HallmarkError(
                    .buildFailed,
                    "cannot read the parent disk \(path) (one ext4 filesystem, no partition table): \(problems.prefix(3).joined(separator: "; "))"
                )
            }
            if raw != path { try? FileManager.default.removeItem(atPath: raw) }
        }
    }

    /// qcow2 by its magic, anything else raw.
    static func diskFormat(of path: String) throws -> DiskFormat {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw HallmarkError(.invalidInput, "cannot read the parent disk \(path)")
        }
        defer { try? handle.close() }
        let magic = (try? handle.read(upToCount: 4)) ?? Data()
        return magic == Data([0x51, 0x46, 0x49, 0xfb]) ? .qcow2 : .raw
    }
}

/// The tree of a built image, unpacked from its boot disk as an image parent is; the image itself
/// is only read (`hallmark component run --image`).
public enum BuiltImageTree {
    public static func unpack(_ image: ImageArtifacts, into rootfs: String, scratch: String, logPath: String) async throws {
        let disk = image.bootDisk
        try await ParentSource.unpack(.disk(disk.path, disk.format), into: rootfs, scratch: scratch, logPath: logPath)
    }
}
