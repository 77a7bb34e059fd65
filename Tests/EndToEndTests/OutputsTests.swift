import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import ImageStore
import Testing

/// `outputs: [raw, qcow2, tar, oci]` through the real binary: two builds of one recipe from the
/// cached parent give the same rootfs tar and OCI layer, every digest in manifest.json is its
/// file's, and Debian's skopeo and umoci read the OCI layout. Builds twice, boots nothing.
extension EndToEndTests.Outputs {
    static let recipe = Repository.fixture("outputs.yaml")

    /// Each build is cold: the component runs again instead of coming from the layer cache.
    static func build() async throws -> (OutputManifest, String) {
        _ = LayerCache(home: SharedImages.home).removeSuperseded(recipe: "e2e-outputs", keeping: [])
        defer { _ = LayerCache(home: SharedImages.home).removeSuperseded(recipe: "e2e-outputs", keeping: []) }
        let run = try await Hallmark.run(["build", recipe], reports: Hallmark.scratchReports())
        try #require(run.status == .exited(0), "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("built e2e-outputs ") })
        let directory = String(try #require(line.split(separator: ": ").last))
        return (try OutputManifest.load(directory: directory), directory)
    }

    @Test func twoBuildsGiveTheSameTarAndOCILayerAndEveryDigestIsItsFiles() async throws {
        let (first, firstDirectory) = try await Self.build()
        defer { try? FileManager.default.removeItem(atPath: firstDirectory) }
        let (second, secondDirectory) = try await Self.build()
        defer { try? FileManager.default.removeItem(atPath: secondDirectory) }
        #expect(second.build == first.build + 1)

        let output = { (manifest: OutputManifest, format: OutputFormat) in manifest.outputs.first { $0.format == format } }
        #expect(first.outputs.map(\.format) == [.raw, .qcow2, .tar, .oci])
        #expect(first.outputs.map(\.evidence) == [.booted, .booted, .derived, .derived])
        let tar = try #require(output(first, .tar)), oci = try #require(output(first, .oci))
        #expect(tar.sha256 == output(second, .tar)?.sha256, "the rootfs tar differs between two builds")
        #expect(oci.layerSHA256 == output(second, .oci)?.layerSHA256, "the OCI layer differs between two builds")
        #expect(oci.sha256 == output(second, .oci)?.sha256, "the OCI manifest differs between two builds")
        #expect(first.sourceDateEpoch == second.sourceDateEpoch && first.sourceDateEpoch > 0)

        // Every file of the image directory is listed, with the digest the file has.
        var listed: [String] = []
        let walker = try #require(FileManager.default.enumerator(atPath: firstDirectory))
        while let relative = walker.nextObject() as? String {
            if walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular { listed.append(relative) }
        }
        #expect(Set(first.files.map(\.path)) == Set(listed).subtracting(["image.json", "manifest.json"]))
        for file in first.files {
            let path = firstDirectory + "/" + file.path
            #expect(try await Digest.sha256(fileAt: path) == file.sha256, "\(file.path)")
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value
            #expect(size == file.sizeBytes, "\(file.path)")
        }
        let image = try ImageArtifacts.load(directory: firstDirectory)
        #expect(image.fileDigests == Dictionary(uniqueKeysWithValues: first.files.map { ($0.path, $0.sha256) }))

        let inspected = try await HostCommand("skopeo", ["inspect", "oci:\(firstDirectory)/oci:1.0.0"]).output()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(inspected.utf8)) as? [String: Any])
        #expect(json["Digest"] as? String == "sha256:" + oci.sha256)
        #expect(json["Layers"] as? [String] == ["sha256:" + (oci.layerSHA256 ?? "")])
        #expect((json["Labels"] as? [String: String])?["org.opencontainers.image.title"] == "e2e-outputs")

        let bundle = Hallmark.scratchReports() + "/bundle"
        defer { try? FileManager.default.removeItem(atPath: bundle) }
        try await HostCommand("umoci", ["unpack", "--image", firstDirectory + "/oci:1.0.0", bundle]).run()
        let rootfs = bundle + "/rootfs"
        #expect(FileManager.default.fileExists(atPath: rootfs + "/etc/sysctl.d/60-hallmark-hardening.conf"))
        #expect(FileManager.default.isExecutableFile(atPath: rootfs + "/usr/bin/bash"))
        let boot = (try? FileManager.default.contentsOfDirectory(atPath: rootfs + "/boot")) ?? []
        #expect(!boot.contains { $0.hasPrefix("vmlinuz") || $0.hasPrefix("initrd.img") }, "\(boot)")
        #expect(try String(contentsOfFile: rootfs + "/etc/machine-id", encoding: .utf8).isEmpty)
        let keys = try FileManager.default.contentsOfDirectory(atPath: rootfs + "/etc/ssh").filter { $0.hasPrefix("ssh_host_") }
        #expect(keys.isEmpty, "\(keys)")
    }
}
