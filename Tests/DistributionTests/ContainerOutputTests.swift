import Attestation
import Distribution
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// A build with a rootfs tar and a container image: every target gets all of them, the container
/// as an ordinary image skopeo reads, and a registry pull brings back every subject.
@Suite struct ContainerOutputTests {
    private func skopeo(_ arguments: [String]) async throws -> String {
        let run = try await runCapturingOutput("/usr/bin/skopeo", arguments)
        #expect(run.status == .exited(0), "skopeo \(arguments): \(run.output)")
        return run.output
    }

    @Test func everyTargetGetsTheTarAndTheContainerImage() async throws {
        let build = try await SignedBuild(container: true)
        defer { build.scratch.remove() }
        let listing = try await HostCommand("tar", ["-tf", build.candidate.files[2].path]).output()
        #expect(listing == "etc/hostname\n")
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        #expect(release.container?.blobs.count == 2)

        // A directory: the tar beside the disk, the container as an OCI layout in oci/, all in SHA256SUMS.
        let landed = try await DirectoryTarget(root: build.regions[0]).publish(release)
        #expect(landed.copied.contains("rootfs.tar") && landed.copied.contains("oci/index.json"))
        let sums = try await HostCommand("sh", ["-c", "cd \(landed.directory) && sha256sum -c SHA256SUMS"]).output()
        #expect(sums.contains("oci/blobs/sha256/") && !sums.contains("FAILED"), "\(sums)")
        let inspected = try await skopeo(["inspect", "oci:\(landed.directory)/oci:1.2.0"])
        #expect(inspected.contains("\"Architecture\": \"amd64\""), "\(inspected)")
        #expect(try await DirectoryTarget(root: build.regions[0]).publish(release).copied.isEmpty)

        // An OCI layout: the container tagged beside the artifact, which names it.
        let layout = build.scratch.file("oci/base")
        let outcome = try await OCILayoutTarget(root: layout).publish(release)
        _ = try await skopeo(["inspect", "oci:\(layout):1.2.0-7-container"])
        let artifact = try await skopeo(["inspect", "--raw", "oci:\(layout):1.2.0-7"])
        let containerDigest = "sha256:" + (release.files.first { $0.name == "oci" }?.sha256 ?? "")
        #expect(artifact.contains("\"dev.hallmark.container\":\"\(containerDigest)\""), "\(artifact)")
        #expect(artifact.contains("\"org.opencontainers.image.title\":\"rootfs.tar\""))
        #expect(!artifact.contains("\"org.opencontainers.image.title\":\"oci\""))
        #expect(try await OCILayoutTarget(root: layout).publish(release).written.isEmpty)
        #expect(outcome.tag == "1.2.0-7")

        // A registry: the container is an ordinary image; a pull brings back every subject.
        let registry = try await LocalRegistry()
        let repository = try RegistryReference(parsing: registry.host + "/images/base")
        do {
            _ = try await RegistryTarget(repository: repository, scratch: build.scratch.file("run/push")).publish(release)
            let copied = build.scratch.file("copied")
            _ = try await skopeo([
                "copy", "--src-tls-verify=false", "docker://\(registry.host)/images/base:1.2.0-7-container", "oci:\(copied):c",
            ])
            #expect(try await skopeo(["inspect", "oci:\(copied):c"]).contains("\"Os\": \"linux\""))
            let pulled = try await RegistryTarget(
                repository: try RegistryReference(parsing: registry.host + "/images/base:1.2.0-7"), scratch: build.scratch.file("run/pull")
            ).pull(into: build.scratch.file("pulled"))
            #expect(pulled.files.map(\.role).sorted() == ["disk.qcow2", "oci", "rootfs.tar", "vmlinuz"])
            let result = try await Attestation.verify(
                envelope: Data(contentsOf: URL(fileURLWithPath: pulled.envelopePath)), publicKey: build.publicKey(),
                requirements: VerificationRequirements(
                    artifacts: pulled.files.map { .init(role: $0.role, path: $0.path) }, coverage: .everySubject))
            #expect(result.passed, "\(result)")
        } catch {
            Issue.record(error)
        }
        await registry.stop()
    }
}
