import Catalog
import Foundation
import HallmarkModel
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Pipeline
import Testing

/// `--if-updates`: what would make a pipeline build, against a real recipe on disk and a Debian
/// archive laid out as a mirror is (`dists/<suite>/main/binary-amd64/Packages[.gz]`) under file://.
@Suite struct UpdateCheckTests {
    /// The e2e recipe with copies of its components, policy and waivers, so a test may edit them.
    private func project() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory(prefix: "hallmark-updates")
        for (file, source) in [
            ("components/ssh-hardening.yaml", "components/ssh-hardening.yaml"),
            ("components/sysctl-hardening.yaml", "components/sysctl-hardening.yaml"),
            ("policies/debian-baseline.yaml", "policies/debian-baseline.yaml"),
        ] {
            try FileManager.default.createDirectory(atPath: directory.file("components"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: directory.file("policies"), withIntermediateDirectories: true)
            _ = try directory.write(file, try String(contentsOfFile: Repository.root + "/" + source, encoding: .utf8))
        }
        let recipe = try String(contentsOfFile: Repository.fixture("minimal.yaml"), encoding: .utf8)
            .replacingOccurrences(of: "../../", with: "")
        _ = try directory.write("recipe.yaml", recipe)
        return directory
    }

    private func build(_ loaded: LoadedRecipe) -> CatalogBuild {
        CatalogBuild(
            id: 1, image: loaded.recipe.name, version: "1.0.0", number: 3, state: .available,
            buildDigest: loaded.recipe.buildDigest(components: loaded.components), directory: "/x", parent: nil,
            createdAt: Date(), updatedAt: Date())
    }

    private func reasons(
        _ loaded: LoadedRecipe, newest: CatalogBuild?, tested: String?, indexes: [(PackageSource, [String: DebianVersion])] = []
    )
        -> [String]
    {
        UpdateCheck.reasons(
            newest: newest,
            lastTest: tested.map {
                TestRun(verdict: "pass", reportDigest: nil, envelopeDigest: nil, reportDirectory: nil, inputsDigest: $0)
            },
            image: nil, buildDigest: loaded.recipe.buildDigest(components: loaded.components), inputsDigest: loaded.inputsDigest,
            indexes: indexes.map { (source: $0.0, versions: $0.1) })
    }

    @Test func nothingChangedBuildsNothingAndAChangedComponentBuilds() throws {
        let directory = try project()
        defer { directory.remove() }
        let before = try LoadedRecipe.load(path: directory.file("recipe.yaml"))
        let newest = build(before)
        #expect(reasons(before, newest: newest, tested: before.inputsDigest).isEmpty)
        #expect(reasons(before, newest: nil, tested: nil) == ["no AVAILABLE build yet"])

        let component = directory.file("components/sysctl-hardening.yaml")
        try (try String(contentsOfFile: component, encoding: .utf8) + "\n# edited\n").write(
            toFile: component, atomically: true, encoding: .utf8)
        let after = try LoadedRecipe.load(path: directory.file("recipe.yaml"))
        let changed = reasons(after, newest: newest, tested: before.inputsDigest)
        #expect(changed.count == 1)
        #expect(changed.first?.hasPrefix("the recipe or a component changed since e2e-minimal@1.0.0/3") == true)
    }

    @Test func aChangedPolicyNeedsANewTest() throws {
        let directory = try project()
        defer { directory.remove() }
        let before = try LoadedRecipe.load(path: directory.file("recipe.yaml"))
        let policy = directory.file("policies/debian-baseline.yaml")
        try (try String(contentsOfFile: policy, encoding: .utf8) + "\n# edited\n").write(toFile: policy, atomically: true, encoding: .utf8)
        let after = try LoadedRecipe.load(path: directory.file("recipe.yaml"))
        let changed = reasons(after, newest: build(before), tested: before.inputsDigest)
        #expect(changed.count == 1)
        #expect(changed.first?.hasPrefix("a policy or waiver changed since e2e-minimal@1.0.0/3 was tested") == true)
    }

    @Test func aNewerPackageInTheSecuritySuiteIsFoundInAMirror() async throws {
        let mirror = try TemporaryDirectory(prefix: "hallmark-mirror")
        defer { mirror.remove() }
        let index = { (suite: String) in mirror.file("dists/\(suite)/main/binary-amd64") }
        for suite in ["bookworm", "bookworm-security"] {
            try FileManager.default.createDirectory(atPath: index(suite), withIntermediateDirectories: true)
        }
        // The main suite: plain Packages, the versions the image has.
        _ = try mirror.write(
            "dists/bookworm/main/binary-amd64/Packages",
            "Package: openssl\nVersion: 3.0.15-1~deb12u1\nArchitecture: amd64\n\nPackage: bash\nVersion: 5.2.15-2+b7\n\n")
        // The security suite: only Packages.gz, as Debian's archives serve it, with a newer openssl.
        let plain = mirror.file("security-Packages")
        try "Package: openssl\nVersion: 3.0.15-1~deb12u1\n\nPackage: openssl\nVersion: 3.0.16-1~deb12u1\nArchitecture: amd64\n\n"
            .write(toFile: plain, atomically: true, encoding: .utf8)
        try await HostCommand("/bin/sh", ["-c", "gzip -c \(plain) > \(index("bookworm-security"))/Packages.gz"]).run()

        var indexes: [(source: PackageSource, versions: [String: DebianVersion])] = []
        for suite in ["bookworm", "bookworm-security"] {
            let source = PackageSource(url: "file://" + mirror.path, suite: suite)
            indexes.append((source, try await source.fetchVersions()))
        }
        #expect(indexes[1].versions["openssl"]?.description == "3.0.16-1~deb12u1")
        let directory = try project()
        defer { directory.remove() }
        let loaded = try LoadedRecipe.load(path: directory.file("recipe.yaml"))
        let image = ImageArtifacts(
            name: "e2e-minimal", version: "1.0.0", build: 3, recipeDigest: "r", builtAt: Date(), kernelVersion: "6.1",
            kernelCommandLine: "",
            files: [:], packages: ["bash 5.2.15-2+b7", "openssl 3.0.15-1~deb12u1", "libc6:amd64 2.36-9+deb12u9"], steps: [])
        let found = UpdateCheck.reasons(
            newest: build(loaded),
            lastTest: TestRun(
                verdict: "pass", reportDigest: nil, envelopeDigest: nil, reportDirectory: nil, inputsDigest: loaded.inputsDigest),
            image: image, buildDigest: loaded.recipe.buildDigest(components: loaded.components), inputsDigest: loaded.inputsDigest,
            indexes: indexes)
        #expect(found == ["openssl 3.0.15-1~deb12u1 → 3.0.16-1~deb12u1 in bookworm-security"])
        // A suite the archive does not have is an error that names it, not "nothing new".
        await #expect(throws: HallmarkError.self) { try await PackageSource(url: "file://" + mirror.path, suite: "trixie").fetchVersions() }
    }

    @Test func theDefaultSourcesIncludeTheSecuritySuite() throws {
        let loaded = try LoadedRecipe.load(path: Repository.fixture("minimal.yaml"))
        guard case .debian(let parent) = loaded.recipe.parent else { Issue.record("not a Debian parent"); return }
        #expect(PackageSource.defaults(for: parent).map(\.suite) == ["bookworm", "bookworm-updates", "bookworm-security"])
    }
}
