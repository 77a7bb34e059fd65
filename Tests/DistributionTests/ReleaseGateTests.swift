import Attestation
import Distribution
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// A build as a pipeline leaves it: files named by role, report.json and report.dsse.json signed with
/// the pipeline's key, and two empty directory targets.
struct SignedBuild {
    let scratch: TemporaryDirectory
    let keys: KeyFiles
    let candidate: ReleaseCandidate
    let regions: [String]

    /// With `container`, the build also has a rootfs tar and a container image (an OCI layout
    /// whose manifest is the `oci` subject), as a recipe with `outputs: [qcow2, tar, oci]` gives.
    init(verdict: String = "pass", container: Bool = false) async throws {
        scratch = try TemporaryDirectory(prefix: "hallmark-gate")
        keys = try KeyFiles.generate(in: scratch.file("keys"))
        var subjects: [Subject] = []
        var files: [VerificationRequirements.ArtifactFile] = []
        var contents = [
            ("disk.qcow2", Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })), ("vmlinuz", Data(repeating: 9, count: 4096)),
        ]
        if container { contents.append(("rootfs.tar", Self.tar)) }
        for (role, contents) in contents {
            let path = try scratch.write("image/" + role, contents)
            files.append(.init(role: role, path: path))
            subjects.append(Subject(name: "base-1.2.0-7/" + role, sha256: try await Digest.sha256(fileAt: path)))
        }
        if container {
            let manifest = try Self.containerLayout(in: scratch.file("image/oci"))
            files.append(.init(role: "oci", path: scratch.file("image/oci/blobs/sha256/") + manifest))
            subjects.append(Subject(name: "base-1.2.0-7/oci", sha256: manifest))
        }
        let report = Data(
            """
            {
              "controls" : [ { "id" : "sshd-root", "result" : "\(verdict)", "severity" : "high" } ],
              "gate" : { "summary" : "1 control(s)", "threshold" : "medium", "verdict" : "\(verdict)" },
              "image" : { "build" : 7, "name" : "base", "version" : "1.2.0" },
              "timings" : { "boot" : 12.345678901234567 }
            }

            """.utf8)
        let reportPath = try scratch.write("reports/report.json", report)
        let envelope = try Attestation.signReport(reportJSON: report, subjects: subjects, privateKeyPEMPath: keys.privateKeyPath)
        let envelopePath = try scratch.write("reports/report.dsse.json", envelope)
        candidate = ReleaseCandidate(
            image: "base", version: "1.2.0", build: 7, files: files, reportPath: reportPath, envelopePath: envelopePath)
        regions = [scratch.file("eu-west-1"), scratch.file("us-east-1")]
        for region in regions { try FileManager.default.createDirectory(atPath: region, withIntermediateDirectories: true) }
    }

    func publicKey() throws -> VerifyingKey { try VerifyingKey(pemFile: keys.publicKeyPath) }

    /// A one-file tar (512-byte header, one block of data, two zero blocks), as the container's layer.
    static let tar: Data = {
        var header = Data(count: 512)
        func put(_ text: String, at offset: Int) { header.replaceSubrange(offset..<offset + text.utf8.count, with: Data(text.utf8)) }
        put("etc/hostname", at: 0)
        put("0000644\0", at: 100)
        put("0000000\0", at: 108)
        put("0000000\0", at: 116)
        put("00000000005\0", at: 124)
        put("00000000000\0", at: 136)
        put("        ", at: 148)
        put("0", at: 156)
        put("ustar\0", at: 257)
        put("00", at: 263)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(String(format: "%06o\0 ", sum), at: 148)
        var data = header
        var body = Data("base\n".utf8)
        body.append(Data(count: 512 - body.count))
        data.append(body)
        data.append(Data(count: 1024))
        return data
    }()

    /// An OCI layout holding one image (config, the tar as its layer) tagged 1.2.0; returns the manifest's hex digest.
    static func containerLayout(in root: String) throws -> String {
        try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
        func blob(_ data: Data) throws -> String {
            let hex = Digest.sha256(data)
            try data.write(to: URL(fileURLWithPath: root + "/blobs/sha256/" + hex))
            return hex
        }
        let layer = try blob(tar)
        let config = try blob(
            Data(#"{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:\#(layer)"]}}"#.utf8))
        let manifest = Data(
            #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:\#(config)","size":\#(try Data(contentsOf: URL(fileURLWithPath: root + "/blobs/sha256/" + config)).count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:\#(layer)","size":\#(tar.count)}]}"#
                .utf8)
        let hex = try blob(manifest)
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: root + "/oci-layout"))
        try Data(
            #"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:\#(hex)","size":\#(manifest.count),"annotations":{"org.opencontainers.image.ref.name":"1.2.0"}}]}"#
                .utf8
        ).write(to: URL(fileURLWithPath: root + "/index.json"))
        return hex
    }

    func distribute(_ candidate: ReleaseCandidate? = nil, key: VerifyingKey? = nil) async throws -> [DirectoryTarget.Outcome] {
        try await ReleaseGate.distribute(candidate ?? self.candidate, publicKey: key ?? publicKey(), to: regions.map(DirectoryTarget.init))
    }

    /// Distributing must be refused by `check`, and neither target may have been touched.
    func expectRefused(
        _ check: String, _ candidate: ReleaseCandidate? = nil, key: VerifyingKey? = nil,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> GateRefusal? {
        let refusal = await #expect(throws: GateRefusal.self, sourceLocation: sourceLocation) {
            _ = try await distribute(candidate, key: key)
        }
        #expect(refusal?.check == check, "\(String(describing: refusal))", sourceLocation: sourceLocation)
        for region in regions {
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: region).isEmpty, "\(region) was touched", sourceLocation: sourceLocation
            )
        }
        return refusal
    }

    func rewrite(_ path: String, _ change: (inout Data) -> Void) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        change(&data)
        try data.write(to: URL(fileURLWithPath: path))
    }
}

@Suite struct ReleaseGateTests {
    @Test func aVerifiedBuildLandsWholeInEveryTarget() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let outcomes = try await build.distribute()
        #expect(outcomes.count == 2)
        for (outcome, region) in zip(outcomes, build.regions) {
            #expect(outcome.directory == region + "/base/1.2.0-7")
            #expect(outcome.copied == ["disk.qcow2", "vmlinuz", "report.json", "report.dsse.json", "SHA256SUMS"])
            let sums = try String(contentsOfFile: outcome.directory + "/SHA256SUMS", encoding: .utf8)
            for file in build.candidate.files + [.init(path: build.candidate.reportPath), .init(path: build.candidate.envelopePath)] {
                let name = file.role ?? (file.path as NSString).lastPathComponent
                let digest = try await Digest.sha256(fileAt: file.path)
                #expect(try await Digest.sha256(fileAt: outcome.directory + "/" + name) == digest)
                #expect(sums.contains("\(digest)  \(name)\n"))
            }
        }
        // What landed verifies as `hallmark verify` checks it, from the target's own copies.
        let landed = build.regions[0] + "/base/1.2.0-7"
        let again = ReleaseCandidate(
            image: "base", version: "1.2.0", build: 7,
            files: [.init(path: landed + "/disk.qcow2"), .init(path: landed + "/vmlinuz")],
            reportPath: landed + "/report.json", envelopePath: landed + "/report.dsse.json")
        let release = try await ReleaseGate.check(again, publicKey: build.publicKey())
        #expect(release.verification.passed)
        #expect(try await build.distribute().allSatisfy(\.copied.isEmpty))
    }

    @Test func aWrongKeyIsRefused() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let other = try KeyFiles.generate(in: build.scratch.file("other-keys"))
        let refusal = try await build.expectRefused("signature", key: VerifyingKey(pemFile: other.publicKeyPath))
        #expect(refusal?.description.hasPrefix("distribution refused, no target touched: signature: does not verify with key") == true)
    }

    @Test func anEnvelopeAlteredAfterSigningIsRefused() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        // Flip the verdict inside the signed payload: the signature no longer covers it.
        var object =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: build.candidate.envelopePath))) as! [String: Any]
        let payload = String(decoding: Data(base64Encoded: object["payload"] as! String)!, as: UTF8.self)
        object["payload"] = Data(payload.replacingOccurrences(of: "\"medium\"", with: "\"critical\"").utf8).base64EncodedString()
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: build.candidate.envelopePath))
        _ = try await build.expectRefused("signature")
    }

    @Test func aReportAlteredAfterSigningIsRefused() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        try build.rewrite(build.candidate.reportPath) { data in
            data = Data(String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"high\"", with: "\"low\"").utf8)
        }
        let refusal = try await build.expectRefused("report")
        #expect(refusal?.artifact == build.candidate.reportPath)
    }

    @Test func aReportReformattedButEqualPasses() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        // Same JSON, other bytes (keys reordered, no indentation): still the signed report.
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: build.candidate.reportPath)))
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: build.candidate.reportPath))
        #expect(try await build.distribute().count == 2)
    }

    @Test func aSubjectFileAlteredAfterSigningIsRefused() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        try build.rewrite(build.candidate.files[0].path) { $0[$0.startIndex + 100] ^= 0x01 }
        let refusal = try await build.expectRefused("artifact")
        #expect(refusal?.artifact == build.candidate.files[0].path)
        #expect(refusal?.reason.contains("is not the digest of base-1.2.0-7/disk.qcow2") == true)
    }

    @Test func aFailingVerdictIsRefused() async throws {
        let build = try await SignedBuild(verdict: "fail")
        defer { build.scratch.remove() }
        let refusal = try await build.expectRefused("verdict")
        #expect(refusal?.reason.hasPrefix("fail") == true)
    }

    @Test func aSubjectLeftOutOrAFileNotSignedIsRefused() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        var withoutKernel = build.candidate
        withoutKernel.files.removeLast()
        _ = try await build.expectRefused("binding", withoutKernel)

        var withExtra = build.candidate
        withExtra.files.append(.init(role: "initrd.img", path: try build.scratch.write("image/initrd.img", "unsigned")))
        _ = try await build.expectRefused("artifact", withExtra)
    }

    @Test func anotherBuildsEnvelopeIsRefused() async throws {
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        var otherBuild = build.candidate
        otherBuild.build = 8
        _ = try await build.expectRefused("image", otherBuild)
    }
}
