import Catalog
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

/// `hallmark lifecycle apply` on store builds the catalog imports with their build dates: no VM, no image build.
@Suite struct LifecycleCommandTests {
    private struct Home {
        let scratch: TemporaryDirectory
        var path: String { scratch.file("home") }

        /// Builds 1…n of base 1.0.0, build `k` made `ages[k-1]` days ago.
        init(ages: [Double]) throws {
            scratch = try TemporaryDirectory(prefix: "hallmark-lifecycle-cli")
            for (index, age) in ages.enumerated() {
                let directory = scratch.file("home/images/base/1.0.0-\(index + 1)")
                _ = try scratch.write("home/images/base/1.0.0-\(index + 1)/disk.qcow2", Data("disk \(index + 1)".utf8))
                try ImageArtifacts(
                    name: "base", version: "1.0.0", build: index + 1, recipeDigest: "r", builtAt: Date().addingTimeInterval(-age * 86_400),
                    kernelVersion: "6.1.0", kernelCommandLine: "root=/dev/vda", files: ["disk.qcow2": "disk.qcow2"], packages: [], steps: []
                ).write(to: directory)
            }
        }

        func hallmark(_ arguments: [String]) async throws -> (status: Termination, output: String) {
            try await runCapturingOutput(Hallmark.binary, arguments, environment: ["HALLMARK_HOME": path])
        }

        func states() async throws -> [String: BuildState] {
            let (catalog, _) = try await Catalog.open(home: HallmarkHome(root: path))
            return Dictionary(uniqueKeysWithValues: try await catalog.builds().map { ($0.reference, $0.state) })
        }
    }

    @Test func aDryRunSaysWhatItWouldDoAndChangesNothing() async throws {
        let home = try Home(ages: [400, 200, 3])
        defer { home.scratch.remove() }
        let dry = try await home.hallmark(["lifecycle", "apply", "--image", "base", "--keep", "1", "--delete-after", "300d", "--dry-run"])
        #expect(dry.status == .exited(0), "\(dry.output)")
        #expect(dry.output.contains("base@1.0.0/3  AVAILABLE  keep: the newest AVAILABLE build"), "\(dry.output)")
        #expect(dry.output.contains("base@1.0.0/2  AVAILABLE  would deprecate: beyond keep 1 (newest 2)"), "\(dry.output)")
        #expect(dry.output.contains("base@1.0.0/1  AVAILABLE  would delete: beyond keep 1 (newest 3); 400d old, delete after 300d"))
        #expect(dry.output.contains("dry run: nothing changed"))
        #expect(try await home.states().values.allSatisfy { $0 == .available })
        #expect(FileManager.default.fileExists(atPath: home.scratch.file("home/images/base/1.0.0-1/disk.qcow2")))
    }

    @Test func applyJSONReportsEveryBuildAndTheCatalogFollows() async throws {
        let home = try Home(ages: [400, 200, 3])
        defer { home.scratch.remove() }
        let applied = try await home.hallmark(["lifecycle", "apply", "--image", "base", "--keep", "1", "--delete-after", "300d", "--json"])
        #expect(applied.status == .exited(0), "\(applied.output)")
        let json = try #require(applied.output.firstIndex(of: "{").map { String(applied.output[$0...]) })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(report["image"] as? String == "base")
        #expect(report["dryRun"] as? Bool == false)
        #expect((report["rules"] as? [String: Any])?["deleteAfterDays"] as? Int == 300)
        let builds = try #require(report["builds"] as? [[String: Any]])
        let actions = builds.map { (($0["decision"] as? [String: Any])?["action"] as? String) ?? "?" }
        #expect(actions == ["keep", "deprecate", "delete"])
        #expect(builds.map { $0["state"] as? String } == ["AVAILABLE", "DEPRECATED", "DELETED"])
        let removed = builds[2]["removed"] as? [String]
        #expect(removed == [home.scratch.file("home/images/base/1.0.0-1")])
        #expect(try await home.states() == ["base@1.0.0/1": .deleted, "base@1.0.0/2": .deprecated, "base@1.0.0/3": .available])
        #expect(!FileManager.default.fileExists(atPath: home.scratch.file("home/images/base/1.0.0-1")))

        let bad = try await home.hallmark(["lifecycle", "apply", "--image", "base", "--deprecate-after", "3 months"])
        #expect(bad.status == .exited(64))
        #expect(bad.output.contains("--deprecate-after must be a number of days such as 90d"))
    }
}
