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

    static func build(_ recipe: String, reports: String) async throws -> (log: String, directory: String, seconds: Double) {
        let started = ContinuousClock.now
        let run = try await Hallmark.run(["build", recipe], reports: reports)
        let seconds = (ContinuousClock.now - started).seconds
        try #require(run.status == .exited(0), "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("built e2e-layers ") })
        let directory = String(try #require(line.split(separator: ": ").last))
        let build = directory.split(separator: "/").last!
        let log = try String(contentsOfFile: reports + "/e2e-layers/\(build)/build.log", encoding: .utf8)
        return (log, directory, seconds)
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
