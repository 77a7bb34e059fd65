import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

/// The layer cache through the real binary: a rebuild after editing only the last component's
/// parameters starts from the cached tree before it and runs only that component. No boot.
extension EndToEndTests.LayerCache {
    static func recipe(permitRootLogin: String) -> String {
        """
        name: e2e-layers
        version: 1.0.0
        parent:
          debian:
            suite: bookworm
            packages: [systemd-sysv, udev, linux-image-amd64, qemu-guest-agent, openssh-server]
        components:
          - path: \(Repository.root)/components/sysctl-hardening.yaml
          - path: \(Repository.root)/components/ssh-hardening.yaml
            parameters: {PermitRootLogin: "\(permitRootLogin)"}
        outputs: [raw]
        disk: {size: 1G}
        """
    }

    static func build(_ recipe: String, reports: String) async throws -> (
        log: String, directory: String, seconds: Double, detailedOutput: [String: Any]
    ) {
        let started = ContinuousClock.now
        let run = try await Hallmark.run(["build", recipe], reports: reports)
        let seconds = (ContinuousClock.now - started).seconds
        try #require(run.status == .exited(0), "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("built e2e-layers ") })
        let directory = String(try #require(line.split(separator: ": ").last))
        let build = directory.split(separator: "/").last!
        let log = try String(contentsOfFile: reports + "/e2e-layers/\(build)/build.log", encoding: .utf8)
        let detailed = try Data(contentsOf: URL(fileURLWithPath: reports + "/e2e-layers/\(build)/detailedoutput.json"))
        return (log, directory, seconds, try #require(try JSONSerialization.jsonObject(with: detailed) as? [String: Any]))
    }

    @Test func editingTheLastComponentRebuildsFromTheTreeBeforeIt() async throws {
        let reports = Hallmark.scratchReports()
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let recipe = reports + "/layers.yaml"
        try Self.recipe(permitRootLogin: "no").write(toFile: recipe, atomically: true, encoding: .utf8)
        let cold = try await Self.build(recipe, reports: reports)
        defer { try? FileManager.default.removeItem(atPath: cold.directory) }
        // The first build of this recipe name in this home (or an edit of an earlier one): misses for both.
        #expect(cold.log.components(separatedBy: "layer cache: miss").count - 1 >= 1, "\(cold.log)")

        try Self.recipe(permitRootLogin: "prohibit-password").write(toFile: recipe, atomically: true, encoding: .utf8)
        let warm = try await Self.build(recipe, reports: reports)
        defer { try? FileManager.default.removeItem(atPath: warm.directory) }
        #expect(warm.log.contains("layer cache: hit"), "\(warm.log)")
        #expect(warm.log.contains("(the tree after component 1, sysctl-hardening"), "\(warm.log)")
        #expect(warm.log.contains("(the tree after component 2, ssh-hardening); stored"), "\(warm.log)")
        #expect(!warm.log.contains("WriteSysctl"), "the cached component ran again: \(warm.log)")
        #expect(warm.log.contains("removed superseded"), "\(warm.log)")
        print("layer cache: cold build \(String(format: "%.1f", cold.seconds)) s, warm rebuild \(String(format: "%.1f", warm.seconds)) s")

        // The image's record still lists every component's steps, the reused ones included.
        // detailedoutput.json lists both documents; the steps the cached tree stands for are marked so.
        let documents = try #require(warm.detailedOutput["documents"] as? [[String: Any]])
        #expect(documents.compactMap { $0["name"] as? String } == ["sysctl-hardening", "ssh-hardening"])
        let stepsByDocument = documents.map { document in
            ((document["phases"] as? [[String: Any]]) ?? []).flatMap { ($0["steps"] as? [[String: Any]]) ?? [] }
        }
        #expect(stepsByDocument[0].allSatisfy { $0["fromLayerCache"] as? Bool == true })
        #expect(stepsByDocument[1].allSatisfy { $0["fromLayerCache"] == nil && $0["status"] as? String == "success" })
        #expect(warm.detailedOutput["status"] as? String == "success")

        let image = try ImageArtifacts.load(directory: warm.directory)
        #expect(Set(image.steps.map(\.component)) == ["sysctl-hardening", "ssh-hardening"], "\(image.steps.map(\.component))")

        let listing = try await Hallmark.run(["cache", "list", "--json"], reports: reports, passReports: false, separateErrors: true)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(listing.output.utf8)) as? [String: [[String: Any]]])
        let mine = (json["layers"] ?? []).filter { $0["recipe"] as? String == "e2e-layers" }
        #expect(mine.compactMap { $0["position"] as? Int }.sorted() == [1, 2], "\(mine)")
        // This test's layers are not for later runs.
        for layer in mine {
            try? FileManager.default.removeItem(atPath: Hallmark.home + "/cache/layers/" + (layer["key"] as? String ?? "none"))
        }
    }
}

extension EndToEndTests.LayerCache {
    /// A step that fails the build leaves its build.log and detailedoutput.json in the reports
    /// directory, and no image, no work directory and no layer entry for the failed component.
    @Test func aFailedStepKeepsItsLogAndLeavesNoImage() async throws {
        let (reports, recipe) = try Self.recipeWithComponent(
            name: "e2e-failing-step",
            steps: """
                      - {name: Works, action: ExecuteBash, inputs: {commands: ['echo first step ran']}}
                      - {name: Breaks, action: ExecuteBash, inputs: {commands: ['echo broken on purpose >&2; exit 7']}}

                """)
        let workBefore = Set((try? FileManager.default.contentsOfDirectory(atPath: Hallmark.home + "/work")) ?? [])

        let run = try await Hallmark.run(["build", recipe], reports: reports)
        #expect(run.status == .exited(3), "\(run.output)")
        #expect(run.output.contains("component 'e2e-failing-step-component' build step 'Breaks' failed with exit code 7"), "\(run.output)")
        // Only the claim on its build number is left, so the number is not handed out again.
        let store = Hallmark.home + "/images/e2e-failing-step"
        defer { try? FileManager.default.removeItem(atPath: store) }
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: store)) ?? []).filter { !$0.hasPrefix(".") } == [])
        #expect(Set((try? FileManager.default.contentsOfDirectory(atPath: Hallmark.home + "/work")) ?? []) == workBefore)
        let directory = try #require(
            try FileManager.default.contentsOfDirectory(atPath: reports + "/e2e-failing-step").first.map {
                reports + "/e2e-failing-step/" + $0
            })
        let log = try String(contentsOfFile: directory + "/build.log", encoding: .utf8)
        #expect(log.contains("first step ran") && log.contains("broken on purpose"), "\(log)")
        let detailed = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/detailedoutput.json")))
                as? [String: Any])
        #expect(detailed["status"] as? String == "failed")
        #expect((detailed["failureMessage"] as? String)?.contains("step 'Breaks' failed with exit code 7") == true, "\(detailed)")
        let steps = ((detailed["documents"] as? [[String: Any]])?.first?["phases"] as? [[String: Any]])?.first?["steps"] as? [[String: Any]]
        #expect(steps?.compactMap { $0["status"] as? String } == ["success", "failed"], "\(detailed)")
        #expect(steps?.last?["exitCode"] as? Int == 7)
        let listing = try await Hallmark.run(["cache", "list", "--json"], reports: reports, passReports: false, separateErrors: true)
        let layers = (try JSONSerialization.jsonObject(with: Data(listing.output.utf8)) as? [String: [[String: Any]]])?["layers"]
        #expect(layers?.contains { $0["recipe"] as? String == "e2e-failing-step" } == false, "\(listing.output)")
    }
}

extension EndToEndTests.LayerCache {
    /// A component installs a package without updating apt first, as on an Image Builder build
    /// instance; the image ships the package but not the lists fetched for it. A second step
    /// writes a secret into the image, which no file of the reports directory holds.
    @Test func aComponentInstallsAPackageAndTheImageShipsNoLists() async throws {
        let (reports, recipe) = try Self.recipeWithComponent(
            name: "e2e-apt-lists",
            steps:
                "      - {name: Install, action: ExecuteBash, inputs: {commands: ['apt-get install -y --no-install-recommends tree']}}\n"
                + "      - {name: Token, action: ExecuteBash, inputs: {commands: ['echo {{ aws:ssm:resolve(e2e/token) }} > /etc/e2e-token', 'echo wrote {{ aws:ssm:resolve(e2e/token) }}']}}\n",
            outputs: "[raw, tar]")
        // A secret from the build's environment: the step writes it, the evidence never holds it.
        try (try String(contentsOfFile: recipe, encoding: .utf8) + "\nsecrets:\n  e2e/token: {env: E2E_TOKEN}\n")
            .write(toFile: recipe, atomically: true, encoding: .utf8)

        let run = try await Hallmark.run(["build", recipe], reports: reports, environment: ["E2E_TOKEN": "tok-31337-secret"])
        try #require(run.status == .exited(0), "\(run.output)")
        print(run.output.split(separator: "\n").filter { $0.contains("done in") }.joined(separator: "\n"))
        let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("built e2e-apt-lists ") })
        let directory = String(try #require(line.split(separator: ": ").last))
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = try String(
            contentsOfFile: reports + "/e2e-apt-lists/\((directory as NSString).lastPathComponent)/build.log", encoding: .utf8)
        #expect(log.contains("apt: package lists fetched for the components"), "\(log)")
        #expect(log.contains("wrote ***"), "\(log)")
        let reportDirectory = reports + "/e2e-apt-lists/\((directory as NSString).lastPathComponent)"
        for file in try FileManager.default.contentsOfDirectory(atPath: reportDirectory) {
            let text = (try? String(contentsOfFile: reportDirectory + "/" + file, encoding: .utf8)) ?? ""
            #expect(!text.contains("tok-31337-secret"), "\(file) holds the secret")
        }
        #expect(!run.output.contains("tok-31337-secret"))
        let token = try await HostCommand("tar", ["-xOf", directory + "/rootfs.tar", "./etc/e2e-token"]).output()
        #expect(token == "tok-31337-secret\n")
        let listing = try await HostCommand("tar", ["-tf", directory + "/rootfs.tar"]).output()
        let entries = Set(listing.split(separator: "\n").map { String($0.drop { $0 == "." || $0 == "/" }) })
        #expect(entries.contains("usr/bin/tree"), "the package the component installed is missing")
        #expect(
            entries.filter { $0.hasPrefix("var/lib/apt/lists/") }.sorted() == [
                "var/lib/apt/lists/", "var/lib/apt/lists/lock", "var/lib/apt/lists/partial/",
            ])
        #expect(!entries.contains("var/cache/apt/pkgcache.bin"))
        // The layer entries of this recipe are not for later runs.
        let cache = try await Hallmark.run(["cache", "list", "--json"], reports: reports, passReports: false, separateErrors: true)
        let layers = (try JSONSerialization.jsonObject(with: Data(cache.output.utf8)) as? [String: [[String: Any]]])?["layers"] ?? []
        for layer in layers where layer["recipe"] as? String == "e2e-apt-lists" {
            try? FileManager.default.removeItem(atPath: Hallmark.home + "/cache/layers/" + (layer["key"] as? String ?? "none"))
        }
    }
}

extension EndToEndTests.LayerCache {
    /// A recipe `name` in a fresh reports directory, built from the cached parent with
    /// ssh-hardening and then the component `steps` (a build phase's steps, YAML), with `outputs`.
    static func recipeWithComponent(name: String, steps: String, outputs: String = "[raw]") throws -> (reports: String, recipe: String) {
        let reports = Hallmark.scratchReports()
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        try "name: \(name)-component\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n\(steps)"
            .write(toFile: reports + "/component.yaml", atomically: true, encoding: .utf8)
        let recipe = Self.recipe(permitRootLogin: "no")
            .replacingOccurrences(of: "name: e2e-layers", with: "name: \(name)")
            .replacingOccurrences(of: "  - path: \(Repository.root)/components/sysctl-hardening.yaml", with: "  - path: component.yaml")
            .replacingOccurrences(of: "outputs: [raw]", with: "outputs: \(outputs)")
        try recipe.write(toFile: reports + "/recipe.yaml", atomically: true, encoding: .utf8)
        return (reports, reports + "/recipe.yaml")
    }
}
