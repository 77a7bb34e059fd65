import Attestation
import Distribution
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// A verified build pushed to Debian's docker-registry on 127.0.0.1 (no referrers API, so the
/// tag-schema fallback), read back with skopeo and pulled back for verification.
@Suite struct RegistryTargetTests {
    private func skopeoRaw(_ reference: String) async throws -> [String: Any] {
        let inspect = try await runCapturingOutput("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://" + reference])
        #expect(inspect.status == .exited(0), "\(inspect.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [String: Any])
    }

    @Test func aBuildIsPushedWithItsReferrersFoundThroughTheFallbackTagAndPulledBackWhole() async throws {
        let registry = try await LocalRegistry()
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        let repository = try RegistryReference(parsing: registry.host + "/images/base")
        let target = RegistryTarget(repository: repository, scratch: build.scratch.file("run/registry"))
        let outcome: RegistryTarget.Outcome
        do {
            outcome = try await target.publish(release)
        } catch {
            await registry.stop()
            throw error
        }
        #expect(outcome.tag == "1.2.0-7")
        #expect(outcome.written.last == "1.2.0-7", "the tag is pushed last")
        #expect(outcome.referrers == "tag sha256-" + outcome.manifestDigest.dropFirst("sha256:".count))
        // config, two image files, envelope, report; the manifest, two referrers, the fallback index, the tag.
        #expect(outcome.written.count == 5 + 3 + 2)

        let manifest = try await skopeoRaw(registry.host + "/images/base:1.2.0-7")
        #expect(manifest["artifactType"] as? String == OCILayoutTarget.diskArtifactType)
        let titles = (manifest["layers"] as? [[String: Any]] ?? []).map {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.title"]
        }
        #expect(titles == ["disk.qcow2", "vmlinuz"])
        let index = try await skopeoRaw(registry.host + "/images/base:sha256-" + outcome.manifestDigest.dropFirst("sha256:".count))
        let referrers = index["manifests"] as? [[String: Any]] ?? []
        #expect(
            referrers.compactMap { $0["artifactType"] as? String } == [
                OCILayoutTarget.envelopeArtifactType, OCILayoutTarget.reportArtifactType,
            ])
        let envelopeManifest = try await skopeoRaw(registry.host + "/images/base@" + (referrers[0]["digest"] as! String))
        #expect((envelopeManifest["subject"] as? [String: Any])?["digest"] as? String == outcome.manifestDigest)

        // A re-run uploads nothing.
        let again = try await target.publish(release)
        #expect(again.written.isEmpty)
        #expect(again.manifestDigest == outcome.manifestDigest)

        // Pulled back by tag: the same bytes, and the envelope verifies against them.
        let pulled = try await RegistryTarget(
            repository: try RegistryReference(parsing: registry.host + "/images/base:1.2.0-7"), scratch: build.scratch.file("run/pull")
        )
        .pull(into: build.scratch.file("pulled"))
        await registry.stop()
        #expect(pulled.manifestDigest == outcome.manifestDigest)
        for (role, path) in pulled.files {
            #expect(try await Digest.sha256(fileAt: path) == release.files.first { $0.name == role }?.sha256)
        }
        let result = try await Attestation.verify(
            envelope: Data(contentsOf: URL(fileURLWithPath: pulled.envelopePath)), publicKey: build.publicKey(),
            requirements: VerificationRequirements(
                artifacts: pulled.files.map { .init(role: $0.role, path: $0.path) }, coverage: .everySubject))
        #expect(result.passed, "\(result)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: try #require(pulled.reportPath)))
                == Data(contentsOf: URL(fileURLWithPath: build.candidate.reportPath)))
        #expect(!FileManager.default.fileExists(atPath: build.scratch.file("run/registry")))
    }

    @Test func aPushCutShortIsCompletedByTheNextAndAChangedFileIsRefusedByTheRegistry() async throws {
        let registry = try await LocalRegistry()
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        let target = RegistryTarget(
            repository: try RegistryReference(parsing: registry.host + "/images/base"), scratch: build.scratch.file("run/registry"))

        // The disk changed after the gate: its upload is refused, and no tag names the build.
        let disk = build.candidate.files[0].path
        let original = try Data(contentsOf: URL(fileURLWithPath: disk))
        try Data("changed".utf8).write(to: URL(fileURLWithPath: disk))
        let error = await #expect(throws: HallmarkError.self) { _ = try await target.publish(release) }
        #expect(error?.description.contains("DIGEST_INVALID") == true, "\(String(describing: error))")
        let tags = try await runCapturingOutput(
            "/usr/bin/skopeo", ["list-tags", "--tls-verify=false", "docker://\(registry.host)/images/base"])
        #expect(!tags.output.contains("1.2.0-7"), "\(tags.output)")

        // Put back, the next run uploads what is missing (the config went up before the failure) and tags it.
        try original.write(to: URL(fileURLWithPath: disk))
        let resumed = try await target.publish(release)
        await registry.stop()
        #expect(!resumed.written.contains("sha256:" + Digest.sha256(Data("{}".utf8))))
        #expect(resumed.written.contains("sha256:" + release.files[0].sha256))
        #expect(resumed.written.last == "1.2.0-7")
    }

    @Test func referencesAreParsedOrRefusedWithWhatIsExpected() throws {
        let tagged = try RegistryReference(parsing: "127.0.0.1:5000/images/web:1.0.0-3")
        #expect(tagged == RegistryReference(host: "127.0.0.1:5000", repository: "images/web", reference: "1.0.0-3"))
        let digest = "sha256:" + String(repeating: "a", count: 64)
        #expect(try RegistryReference(parsing: "registry.example/web@" + digest).reference == digest)
        #expect(try RegistryReference(parsing: "registry.example/web").reference == nil)
        for bad in ["web:1.0", "host/Web", "host/web@sha256:12", "host//web"] {
            #expect(throws: HallmarkError.self) { try RegistryReference(parsing: bad) }
        }
    }
}

/// A registry that asks for a login: refused with what to do, then pushed with the auth file
/// `skopeo login` writes.
@Suite struct RegistryLoginTests {
    @Test func aLoginFromSkopeosAuthFileIsUsedAndItsAbsenceExplained() async throws {
        let registry = try await LocalRegistry(login: ("ci", "s3cret"))
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        let repository = try RegistryReference(parsing: registry.host + "/images/base")
        let authFile = build.scratch.file("auth.json")

        let anonymous = RegistryTarget(repository: repository, scratch: build.scratch.file("run/a"), authFiles: [authFile])
        let refusal = await #expect(throws: HallmarkError.self) { _ = try await anonymous.publish(release) }
        #expect(refusal?.description.contains("skopeo login \(registry.host)") == true, "\(String(describing: refusal))")

        let login = try await runCapturingOutput(
            "/usr/bin/skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "ci", "-p", "s3cret", registry.host])
        #expect(login.status == .exited(0), "\(login.output)")
        let outcome = try await RegistryTarget(repository: repository, scratch: build.scratch.file("run/b"), authFiles: [authFile])
            .publish(release)
        let read = try await runCapturingOutput(
            "/usr/bin/skopeo",
            ["inspect", "--raw", "--authfile", authFile, "--tls-verify=false", "docker://\(registry.host)/images/base:1.2.0-7"])
        await registry.stop()
        #expect(outcome.written.last == "1.2.0-7")
        #expect(read.output.contains(OCILayoutTarget.diskArtifactType), "\(read.output)")
    }

    /// A registry that sends a Bearer challenge, as most registries on the network do: Hallmark
    /// takes a token for the repository's pull and push scope from the token service the challenge
    /// names, with the login from the auth file, and says so when it has none.
    @Test func aBearerChallengeIsAnsweredWithATokenFromItsService() async throws {
        let registry = try await LocalRegistry(login: ("ci", "s3cret"), tokenService: true)
        let build = try await SignedBuild()
        defer { build.scratch.remove() }
        let release = try await ReleaseGate.check(build.candidate, publicKey: build.publicKey())
        let repository = try RegistryReference(parsing: registry.host + "/images/base")
        let authFile = build.scratch.file("auth.json")

        let anonymous = RegistryTarget(repository: repository, scratch: build.scratch.file("run/a"), authFiles: [authFile])
        let refusal = await #expect(throws: HallmarkError.self) { _ = try await anonymous.publish(release) }
        #expect(
            refusal?.description.contains("answered HTTP 401 (no login for \(registry.host) in the auth file)") == true,
            "\(String(describing: refusal))")

        let login = try await runCapturingOutput(
            "/usr/bin/skopeo", ["login", "--authfile", authFile, "--tls-verify=false", "-u", "ci", "-p", "s3cret", registry.host])
        #expect(login.status == .exited(0), "\(login.output)")
        let outcome = try await RegistryTarget(repository: repository, scratch: build.scratch.file("run/b"), authFiles: [authFile])
            .publish(release)
        let read = try await runCapturingOutput(
            "/usr/bin/skopeo",
            ["inspect", "--raw", "--authfile", authFile, "--tls-verify=false", "docker://\(registry.host)/images/base:1.2.0-7"])
        let requests = (try? String(contentsOfFile: registry.tokenRequests, encoding: .utf8)) ?? ""
        await registry.stop()
        #expect(outcome.written.last == "1.2.0-7")
        #expect(read.output.contains(OCILayoutTarget.diskArtifactType), "\(read.output)")
        let scopes = requests.split(separator: "\n").compactMap { line -> String? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["authenticated"] as? Bool == true, let path = object["path"] as? String
            else { return nil }
            return URLComponents(string: path)?.queryItems?.first { $0.name == "scope" }?.value
        }
        #expect(scopes.contains("repository:images/base:pull,push"), "\(requests)")
    }

    @Test func anAuthFileEntryIsReadByHostAndABrokenOneNamed() throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-auth")
        defer { scratch.remove() }
        let good = try scratch.write(
            "good.json", Data(#"{"auths": {"https://registry.example": {"auth": "\#(Data("u:p:w".utf8).base64EncodedString())"}}}"#.utf8))
        let bad = try scratch.write("bad.json", Data(#"{"auths": {"registry.example": {"auth": "not base64"}}}"#.utf8))
        #expect(
            try RegistryCredentials.find(host: "registry.example", in: [scratch.file("missing.json"), good])
                == RegistryCredentials(user: "u", password: "p:w"))
        #expect(try RegistryCredentials.find(host: "other.example", in: [good]) == nil)
        let error = #expect(throws: HallmarkError.self) { try RegistryCredentials.find(host: "registry.example", in: [bad]) }
        #expect(error?.description.contains("bad.json: the entry for registry.example") == true)
    }
}
