import Foundation
import HallmarkTestSupport
import Testing

@testable import HallmarkSupport
@testable import ImageBuild
@testable import ImageStore

/// The derived outputs on small crafted trees: the rootfs tar's bytes depend on the tree's
/// contents only, the OCI layout is what skopeo and umoci (Debian's) read, and a tree's machine
/// identity is cleared without following a link out of it.
@Suite(.enabled(if: getuid() == 0, "needs root (owners and modes of a tree)"), .tags(.root))
struct OutputTests {
    static let epoch = 1_700_000_000

    /// A small tree with the kinds of entries a rootfs has, made with the given file order and mtime.
    static func makeTree(at root: String, reversed: Bool, mtime: Int) throws {
        var entries = [
            ("etc/fstab", "/dev/vda / ext4 defaults 0 1\n"), ("etc/hostname", "x\n"), ("usr/bin/tool", "#!/bin/sh\n"),
            ("boot/vmlinuz-6.1.0-1-amd64", "kernel"), ("boot/initrd.img-6.1.0-1-amd64", "initrd"),
            ("usr/lib/modules/6.1.0-1-amd64/kernel.ko", "module"), ("var/lib/app/state", "kept"),
        ]
        if reversed { entries.reverse() }
        for (path, text) in entries {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        try FileManager.default.createSymbolicLink(atPath: root + "/vmlinuz", withDestinationPath: "boot/vmlinuz-6.1.0-1-amd64")
        chmod(root + "/usr/bin/tool", 0o755)
        // Every entry, directories included, gets `mtime`: newer than the epoch, so clamped.
        let walker = FileManager.default.enumerator(atPath: root)!
        var paths = [root]
        while let relative = walker.nextObject() as? String { paths.append(root + "/" + relative) }
        for path in paths {
            var times = [timespec(tv_sec: mtime, tv_nsec: 123), timespec(tv_sec: mtime, tv_nsec: 456)]
            utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    static func archive(_ tree: String, to archive: String, excluding: [String] = []) async throws -> String {
        try await RootfsArchive.command(tree: tree, archive: archive, sourceDateEpoch: epoch, excluding: excluding).run()
        return try await Digest.sha256(fileAt: archive)
    }

    static func listing(_ archive: String) async throws -> [String] {
        try await HostCommand("tar", ["--list", "--file", archive]).output().split(separator: "\n").map(String.init)
    }

    @Test func qcow2IsCompressedOnlyWhenAsked() {
        #expect(
            ImageBuilder.qcow2Command(raw: "/i/r", qcow2: "/i/q").argv == [
                "qemu-img", "convert", "-f", "raw", "-O", "qcow2", "/i/r", "/i/q",
            ])
        #expect(
            ImageBuilder.qcow2Command(raw: "/i/r", qcow2: "/i/q", compress: true).argv
                == ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", "/i/r", "/i/q"])
    }

    @Test func theRootfsTarDependsOnTheTreesContentsOnly() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-tar")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        try Self.makeTree(at: scratch.file("one"), reversed: false, mtime: Self.epoch + 1000)
        try Self.makeTree(at: scratch.file("two"), reversed: true, mtime: Self.epoch + 99_999)
        let first = try await Self.archive(scratch.file("one"), to: scratch.file("one.tar"))
        let second = try await Self.archive(scratch.file("two"), to: scratch.file("two.tar"))
        #expect(first == second)

        let names = try await Self.listing(scratch.file("one.tar"))
        #expect(names == names.sorted(), "\(names)")
        #expect(names.contains("./boot/vmlinuz-6.1.0-1-amd64"))
        let verbose = try await HostCommand("tar", ["--list", "--verbose", "--full-time", "--file", scratch.file("one.tar")]).output()
        #expect(verbose.contains("2023-11-14 22:13:20"), "\(verbose)")
        #expect(!verbose.contains("PaxHeaders."), "a pax header name carries a process id: \(verbose)")

        // A changed file changes the archive: the equality above is not a constant.
        try "changed".write(toFile: scratch.file("two/var/lib/app/state"), atomically: false, encoding: .utf8)
        #expect(try await Self.archive(scratch.file("two"), to: scratch.file("three.tar")) != first)
    }

    @Test func theOCILayerLeavesOutWhatOnlyTheVMNeeds() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-tar")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        try Self.makeTree(at: scratch.file("tree"), reversed: false, mtime: Self.epoch)
        _ = try await Self.archive(scratch.file("tree"), to: scratch.file("layer.tar"), excluding: RootfsArchive.vmOnlyPaths)
        let names = Set(try await Self.listing(scratch.file("layer.tar")))
        for left in [
            "./boot/vmlinuz-6.1.0-1-amd64", "./boot/initrd.img-6.1.0-1-amd64", "./vmlinuz", "./etc/fstab",
            "./usr/lib/modules/6.1.0-1-amd64/kernel.ko",
        ] {
            #expect(!names.contains(left), "\(left) is in the layer")
        }
        for kept in ["./boot/", "./etc/hostname", "./usr/bin/tool", "./var/lib/app/state"] {
            #expect(names.contains(kept), "\(kept) is missing from the layer: \(names.sorted())")
        }
    }

    static let layout = OCILayout(name: "web", version: "1.2.3", description: "a web server", sourceDateEpoch: epoch)

    static func writeLayout(in scratch: TemporaryDirectory, name: String) async throws -> OCILayout.Written {
        try Self.makeTree(at: scratch.file("tree-" + name), reversed: name.hasSuffix("2"), mtime: Self.epoch + 5)
        let layer = scratch.file("layer-" + name + ".tar")
        let digest = try await Self.archive(scratch.file("tree-" + name), to: layer, excluding: RootfsArchive.vmOnlyPaths)
        return try Self.layout.write(layerTar: layer, layerSHA256: digest, to: scratch.file(name))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/skopeo"), "needs skopeo (make deps)"))
    func skopeoReadsTheLayoutWithTheRecipesLabels() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-oci")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        let written = try await Self.writeLayout(in: scratch, name: "oci")
        let again = try await Self.writeLayout(in: scratch, name: "oci2")
        #expect(written.manifest.digest == again.manifest.digest)
        #expect(written.layer.digest == again.layer.digest)

        let inspected = try await HostCommand("skopeo", ["inspect", "oci:\(scratch.file("oci")):1.2.3"]).output()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any])
        #expect(json["Digest"] as? String == written.manifest.digest)
        #expect(json["Layers"] as? [String] == [written.layer.digest])
        #expect(json["Created"] as? String == "2023-11-14T22:13:20Z")
        #expect(json["Architecture"] as? String == "amd64")
        let labels = try #require(json["Labels"] as? [String: String])
        #expect(labels["org.opencontainers.image.title"] == "web")
        #expect(labels["org.opencontainers.image.version"] == "1.2.3")

        let index = try #require(
            try JSONSerialization.jsonObject(with: try scratch.read("oci/index.json")) as? [String: Any])
        let manifests = try #require(index["manifests"] as? [[String: Any]])
        #expect((manifests.first?["annotations"] as? [String: String])?[OCILayout.refNameAnnotation] == "1.2.3")
        // Every blob is named by its digest.
        for blob in try FileManager.default.contentsOfDirectory(atPath: scratch.file("oci/blobs/sha256")) {
            #expect(try await Digest.sha256(fileAt: scratch.file("oci/blobs/sha256/" + blob)) == blob)
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/umoci"), "needs umoci (make deps)"))
    func umociUnpacksTheLayoutToTheTreeWithoutVMFiles() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-oci")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        _ = try await Self.writeLayout(in: scratch, name: "oci")
        try await HostCommand("umoci", ["unpack", "--image", scratch.file("oci") + ":1.2.3", scratch.file("bundle")]).run()
        let rootfs = scratch.file("bundle/rootfs")
        #expect(try String(contentsOfFile: rootfs + "/var/lib/app/state", encoding: .utf8) == "kept")
        #expect(FileManager.default.isExecutableFile(atPath: rootfs + "/usr/bin/tool"))
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/boot/vmlinuz-6.1.0-1-amd64"))
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/etc/fstab"))
        let config = try String(contentsOfFile: scratch.file("bundle/config.json"), encoding: .utf8)
        #expect(config.contains("/bin/bash"), "\(config)")
    }

    @Test func machineIdentityIsClearedWithoutLeavingTheTree() throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-identity")
        defer { try? FileManager.default.removeItem(atPath: scratch.path) }
        let tree = scratch.file("tree")
        for (path, text) in [
            ("etc/machine-id", "0123456789abcdef0123456789abcdef\n"), ("etc/ssh/ssh_host_ed25519_key", "secret"),
            ("etc/ssh/ssh_host_ed25519_key.pub", "public"), ("etc/ssh/sshd_config", "Port 22\n"), ("usr/bin/ssh-keygen", ""),
            ("var/lib/dbus/machine-id", "0123\n"), ("var/lib/systemd/random-seed", "seed"),
        ] {
            let full = tree + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: false, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: tree + "/etc/systemd/system", withIntermediateDirectories: true)
        try MachineIdentity.clear(rootfs: tree)
        #expect(try String(contentsOfFile: tree + "/etc/machine-id", encoding: .utf8) == "")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree + "/etc/ssh") == ["sshd_config"])
        #expect(!FileManager.default.fileExists(atPath: tree + "/var/lib/dbus/machine-id"))
        #expect(!FileManager.default.fileExists(atPath: tree + "/var/lib/systemd/random-seed"))
        let dropIn = try String(contentsOfFile: tree + "/" + MachineIdentity.sshDropIn, encoding: .utf8)
        #expect(dropIn.contains("ExecStartPre=/usr/bin/ssh-keygen -A"))

        // A step that pointed /etc/ssh at a host directory: its keys are not Hallmark's to remove.
        let host = scratch.file("host-ssh")
        try FileManager.default.createDirectory(atPath: host, withIntermediateDirectories: true)
        try "host key".write(toFile: host + "/ssh_host_rsa_key", atomically: false, encoding: .utf8)
        try FileManager.default.removeItem(atPath: tree + "/etc/ssh")
        try FileManager.default.createSymbolicLink(atPath: tree + "/etc/ssh", withDestinationPath: host)
        try MachineIdentity.clear(rootfs: tree)
        #expect(FileManager.default.fileExists(atPath: host + "/ssh_host_rsa_key"))

        // A tree without D-Bus or systemd's state directories is fine.
        let bare = scratch.file("bare")
        try FileManager.default.createDirectory(atPath: bare + "/etc", withIntermediateDirectories: true)
        try "id\n".write(toFile: bare + "/etc/machine-id", atomically: false, encoding: .utf8)
        try MachineIdentity.clear(rootfs: bare)
        #expect(try String(contentsOfFile: bare + "/etc/machine-id", encoding: .utf8) == "")
    }
}
