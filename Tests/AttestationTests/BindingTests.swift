import Foundation
import HallmarkSupport
import Testing

@testable import Attestation

/// A passing envelope proves something only about the image it names: files are matched to the
/// subject of their own role, the boot disk must be among them, and the verifier can demand the
/// image's name, version, build and how strict its gate was.
@Suite struct BindingTests {
    @Test func imageBsIdenticalKernelDoesNotStandInForImageAsDisk() async throws {
        let imageA = try await SignedFixture(image: "image-a")
        defer { imageA.scratch.remove() }
        let imageB = try await SignedFixture(image: "image-b", diskSeed: 77, keys: imageA.keys)
        defer { imageB.scratch.remove() }
        let kernelB = imageB.imageDirectory + "/vmlinuz"

        // The kernel is byte for byte A's, so it matches A's vmlinuz subject, and only that one.
        let kernelOnly = try await imageA.verify(artifacts: [kernelB])
        #expect(kernelOnly.failure?.check == .binding)
        #expect(kernelOnly.failure?.description == "binding: the boot disk disk.qcow2 was not checked (checked: vmlinuz)")

        // Offered as A's disk, it fails: a file must match the subject of its own role.
        let asDisk = try await imageA.verify(requiring: .init(artifacts: [.init(role: "disk.qcow2", path: kernelB)]))
        #expect(asDisk.failure?.check == .artifact)
        #expect(
            asDisk.failure?.reason.contains(
                "is not the digest of image-a-1.0.0-1/disk.qcow2 (it is the image-a-1.0.0-1/vmlinuz subject's file)") == true)

        // B's whole image directory is not A's image.
        let imageBFiles = try await imageA.verify(artifacts: imageB.artifacts)
        #expect(imageBFiles.failure?.check == .artifact)
        #expect(imageBFiles.failure?.artifact == imageB.artifacts[0])
    }

    @Test func aFileUnderAnotherRolesNameFails() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let raw = fixture.imageDirectory + "/disk.raw"
        let swapped = try await fixture.verify(requiring: .init(artifacts: [.init(role: "disk.qcow2", path: raw)]))
        #expect(swapped.failure?.check == .artifact)
        let unknownRole = try await fixture.verify(requiring: .init(artifacts: [.init(role: "disk.vmdk", path: raw)]))
        #expect(
            unknownRole.failure?.description
                == "artifact \(raw): the statement has no subject with role disk.vmdk (roles: disk.qcow2, disk.raw, vmlinuz)")
        let unnamed = try fixture.scratch.write("copy-of-disk", try Data(contentsOf: URL(fileURLWithPath: fixture.artifacts[0])))
        let unnamedResult = try await fixture.verify(artifacts: [unnamed])
        #expect(unnamedResult.failure?.check == .artifact)
        #expect(unnamedResult.failure?.reason.hasSuffix("give ROLE=FILE") == true)
        // Named by its role, the same copy binds.
        let named = try await fixture.verify(requiring: .init(artifacts: [.init(role: "disk.qcow2", path: unnamed)]))
        #expect(named.passed, "\(named)")
        #expect(named.artifacts.map(\.subject.name) == ["debian-12-minimal-1.0.0-1/disk.qcow2"])
    }

    @Test func noFileIsRefusedUnlessTheEnvelopeAloneIsAskedFor() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let nothing = try await fixture.verify(requiring: .init())
        #expect(!nothing.passed)
        #expect(nothing.failure?.description == "binding: no file was checked against the subjects; the boot disk disk.qcow2 must be")
        #expect(try await fixture.verify(requiring: .init(coverage: .nothing)).passed)
    }

    @Test func everySubjectCanBeRequired() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let diskOnly = [VerificationRequirements.ArtifactFile(path: fixture.artifacts[0])]
        #expect(try await fixture.verify(requiring: .init(artifacts: diskOnly)).passed)
        let strict = try await fixture.verify(requiring: .init(artifacts: diskOnly, coverage: .everySubject))
        #expect(strict.failure?.description == "binding: no file was checked for disk.raw, vmlinuz")
        #expect(
            try await fixture.verify(requiring: .init(artifacts: fixture.artifacts.map { .init(path: $0) }, coverage: .everySubject)).passed
        )
    }

    @Test func theVerifierCanRequireImageNameVersionAndBuild() async throws {
        let fixture = try await SignedFixture(image: "web", version: "2.1.0", build: 7)
        defer { fixture.scratch.remove() }
        let disk = [VerificationRequirements.ArtifactFile(path: fixture.artifacts[0])]
        #expect(try await fixture.verify(requiring: .init(artifacts: disk, imageName: "web", imageVersion: "2.1.0", imageBuild: 7)).passed)
        let otherName = try await fixture.verify(requiring: .init(artifacts: disk, imageName: "db"))
        #expect(otherName.failure?.description == "image: the envelope is for web 2.1.0/7 (name web), not name db")
        #expect(try await fixture.verify(requiring: .init(artifacts: disk, imageVersion: "2.0.0")).failure?.check == .image)
        #expect(try await fixture.verify(requiring: .init(artifacts: disk, imageBuild: 6)).failure?.check == .image)
    }

    @Test func theGateThresholdIsShownAndCanBeRequired() async throws {
        let fixture = try await SignedFixture(threshold: "high")
        defer { fixture.scratch.remove() }
        let disk = [VerificationRequirements.ArtifactFile(path: fixture.artifacts[0])]
        let plain = try await fixture.verify(requiring: .init(artifacts: disk))
        #expect(plain.gateThreshold == "high")
        #expect(plain.jsonObject()["gateThreshold"] as? String == "high")
        #expect(try await fixture.verify(requiring: .init(artifacts: disk, gateCovers: "high")).passed)
        #expect(try await fixture.verify(requiring: .init(artifacts: disk, gateCovers: "critical")).passed)
        let stricter = try await fixture.verify(requiring: .init(artifacts: disk, gateCovers: "medium"))
        #expect(stricter.failure?.description == "gate: the gate closed only on high and above, so medium failures were allowed through")
    }

    @Test func subjectsMustBeNamedAfterTheReportsImage() async throws {
        let key = SigningKey.generate()
        let digest = String(repeating: "a", count: 64)
        for (name, expected) in [
            (
                "other-1.0.0-1/disk.qcow2",
                "subject other-1.0.0-1/disk.qcow2 is not named debian-12-minimal-1.0.0-1/<role> after the report's image"
            ),
            ("disk.qcow2", "subject disk.qcow2 is not named debian-12-minimal-1.0.0-1/<role> after the report's image"),
        ] {
            let envelope = try Attestation.signReport(reportJSON: sampleReport(), subjects: [Subject(name: name, sha256: digest)], key: key)
            let result = try await Attestation.verify(envelope: envelope, publicKey: key.publicKey, requirements: .init(coverage: .nothing))
            #expect(result.failure?.description == "statement: " + expected)
        }
        let twice = [
            Subject(name: "debian-12-minimal-1.0.0-1/vmlinuz", sha256: digest),
            Subject(name: "debian-12-minimal-1.0.0-1/vmlinuz", sha256: digest),
        ]
        let envelope = try Attestation.signReport(reportJSON: sampleReport(), subjects: twice, key: key)
        let result = try await Attestation.verify(envelope: envelope, publicKey: key.publicKey, requirements: .init(coverage: .nothing))
        #expect(result.failure?.description == "statement: two subjects have role vmlinuz")
    }

    @Test func jsonNamesTheMatchedSubjectsByRole() async throws {
        let fixture = try await SignedFixture()
        defer { fixture.scratch.remove() }
        let object = try await fixture.verify().jsonObject()
        #expect(object["verified"] as? Bool == true)
        #expect(object["coverage"] as? String == "bootDisk")
        let artifacts = try #require(object["artifacts"] as? [[String: Any]])
        #expect(artifacts.map { $0["role"] as? String } == ["disk.qcow2", "disk.raw", "vmlinuz"])
        #expect(artifacts.first?["subject"] as? String == "debian-12-minimal-1.0.0-1/disk.qcow2")
        #expect((object["image"] as? [String: Any])?["build"] as? Int == 1)
        #expect(try JSONSerialization.data(withJSONObject: object).count > 0)
    }
}
