import Foundation
import HallmarkTestSupport
import Testing

@testable import ImageBuild

/// Sealing an image removes the apt lists fetched for its components and the caches made from
/// them, leaves what mmdebstrap leaves (`lock`, an empty `partial/`) and follows no link.
@Suite struct PackageListsTests {
    @Test func sealingLeavesWhatAParentHas() throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-lists")
        defer { scratch.remove() }
        let tree = scratch.file("tree")
        let lists = tree + "/var/lib/apt/lists"
        for directory in [lists + "/partial", lists + "/auxfiles", tree + "/var/cache/apt/archives/partial", scratch.file("host")] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for file in [
            "lock", "deb.debian.org_debian_dists_bookworm_InRelease", "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            "partial/half-fetched", "auxfiles/x",
        ] {
            try "x".write(toFile: lists + "/" + file, atomically: false, encoding: .utf8)
        }
        for file in ["pkgcache.bin", "srcpkgcache.bin", "archives/lock"] {
            try "x".write(toFile: tree + "/var/cache/apt/" + file, atomically: false, encoding: .utf8)
        }
        // A link a step planted among the lists is removed itself; what it points to stays.
        try "host file".write(toFile: scratch.file("host/kept"), atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: lists + "/planted", withDestinationPath: scratch.file("host"))

        try PackageLists.remove(from: TreeFiles(root: tree))
        #expect(try FileManager.default.contentsOfDirectory(atPath: lists).sorted() == ["lock", "partial"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: lists + "/partial").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree + "/var/cache/apt").sorted() == ["archives"])
        #expect(try String(contentsOfFile: scratch.file("host/kept"), encoding: .utf8) == "host file")
    }

    @Test func aTreeWithoutAptIsLeftAlone() throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-lists")
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.file("tree/etc"), withIntermediateDirectories: true)
        try PackageLists.remove(from: TreeFiles(root: scratch.file("tree")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.file("tree")) == ["etc"])
    }
}
