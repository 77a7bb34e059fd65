import Attestation
import Distribution
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// A verified build pushed into an OCI image layout, read back with skopeo (Debian) and from index.json.
@Suite struct OCILayoutTargetTests {
    private func json(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    @Test func aBuildIsAnArtifactWithItsEnvelopeAndReportAsReferrers() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        let layout = build.scratch.file("oci/base")
        let outcome = try await OCILayoutTarget(root: layout).publish(release)
        #expect(outcome.tag == "1.2.0-7")
        #expect(outcome.written.last == "index.json")

        // skopeo finds the tag and reads the artifact manifest.
        let inspect = try await runCapturingOutput("/usr/bin/skopeo", ["inspect", "--raw", "oci:\(layout):1.2.0-7"])
        #expect(inspect.status == .exited(0), "\(inspect.output)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [String: Any])
        #expect(manifest["artifactType"] as? String == OCILayoutTarget.diskArtifactType)
        let layers = manifest["layers"] as? [[String: Any]] ?? []
        #expect(layers.map { ($0["annotations"] as? [String: String])?["org.opencontainers.image.title"] } == ["disk.qcow2", "vmlinuz"])
        for (layer, file) in zip(layers, release.files) {
            #expect(layer["digest"] as? String == "sha256:" + file.sha256)
            let hex = file.sha256
            #expect(try await Digest.sha256(fileAt: layout + "/blobs/sha256/" + hex) == hex)
        }
        // What skopeo read under the tag is the manifest the target published.
        #expect("sha256:" + Digest.sha256(Data(inspect.output.utf8)) == outcome.manifestDigest)

        // The envelope and the report are referrers: manifests whose subject is the artifact.
        let index = try json(layout + "/index.json")
        let entries = index["manifests"] as? [[String: Any]] ?? []
        #expect(entries.count == 3)
        var referrerTypes: [String] = []
        for entry in entries where entry["digest"] as? String != outcome.manifestDigest {
            let referrer = try json(layout + "/blobs/sha256/" + (entry["digest"] as! String).dropFirst("sha256:".count))
            #expect((referrer["subject"] as? [String: Any])?["digest"] as? String == outcome.manifestDigest)
            referrerTypes.append(referrer["artifactType"] as? String ?? "")
            let content = try #require((referrer["layers"] as? [[String: Any]])?.first)
            let shipped = try #require(release.files.first { "sha256:" + $0.sha256 == content["digest"] as? String })
            #expect([ReleaseGate.envelopeName, ReleaseGate.reportName].contains(shipped.name))
        }
        #expect(referrerTypes == [OCILayoutTarget.envelopeArtifactType, OCILayoutTarget.reportArtifactType])

        // A re-run writes nothing; every blob a manifest names is present.
        let again = try await OCILayoutTarget(root: layout).publish(release)
        #expect(again.written.isEmpty)
        #expect(again.manifestDigest == outcome.manifestDigest)
        #expect(!FileManager.default.fileExists(atPath: layout + "/.hallmark-staging"))
    }

    @Test func aBlobChangedAfterTheGateIsNotPublished() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        try Data("changed".utf8).write(to: URL(fileURLWithPath: build.candidate.files[1].path))
        let layout = build.scratch.file("oci/base")
        let error = await #expect(throws: HallmarkError.self) { try await OCILayoutTarget(root: layout).publish(release) }
        #expect(error?.description.contains("changed after verification") == true)
        #expect(!FileManager.default.fileExists(atPath: layout + "/index.json"))
    }
}
