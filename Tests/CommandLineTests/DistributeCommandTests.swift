import Attestation
import Catalog
import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

/// `hallmark distribute` on a build put in a scratch catalog by the test: an image directory with
/// image.json, and a passing test run whose report the test signed. No VM, no image build.
@Suite struct DistributeCommandTests {
    private struct TestedBuild {
        let scratch: TemporaryDirectory
        let keys: KeyFiles
        let reports: String
        var home: String { scratch.file("home") }

        init(verdict: String = "pass") async throws {
            scratch = try TemporaryDirectory(prefix: "hallmark-distribute")
            keys = try KeyFiles.generate(in: scratch.file("keys"))
            let directory = scratch.file("home/images/base/1.2.0-7")
            let disk = try scratch.write(
                "home/images/base/1.2.0-7/disk.qcow2", Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 5) }))
            try ImageArtifacts(
                name: "base", version: "1.2.0", build: 7, recipeDigest: "r", builtAt: Date(), kernelVersion: "6.1.0-28-amd64",
                kernelCommandLine: "root=/dev/vda", files: ["disk.qcow2": "disk.qcow2"], packages: [], steps: []
            ).write(to: directory)
            let report = Data(
                #"{"gate": {"threshold": "medium", "verdict": "\#(verdict)"}, "image": {"build": 7, "name": "base", "version": "1.2.0"}}"#
                    .utf8)
            reports = scratch.file("reports")
            _ = try scratch.write("reports/report.json", report)
            let subject = Subject(name: "base-1.2.0-7/disk.qcow2", sha256: try await Digest.sha256(fileAt: disk))
            let envelope = try Attestation.signReport(reportJSON: report, subjects: [subject], privateKeyPEMPath: keys.privateKeyPath)
            _ = try scratch.write("reports/report.dsse.json", envelope)
            // Opening the catalog imports the build from the store as AVAILABLE.
            let (catalog, _) = try await Catalog.open(home: HallmarkHome(root: home))
            let build = try await catalog.resolve(BuildSelector(parsing: "base@1.2.0/7"))
            try await catalog.recordTestRun(
                build,
                TestRun(
                    verdict: verdict, reportDigest: "sha256:" + Digest.sha256(report), envelopeDigest: "sha256:" + Digest.sha256(envelope),
                    reportDirectory: reports))
        }

        func distribute(_ targets: [String]) async throws -> (status: Termination, output: String) {
            try await runCapturingOutput(
                Hallmark.binary, ["distribute", "base@1.2.x", "--key", keys.publicKeyPath] + targets.flatMap { ["--to", $0] },
                environment: ["HALLMARK_HOME": home])
        }

        func history() async throws -> BuildHistory {
            let (catalog, _) = try await Catalog.open(home: HallmarkHome(root: home))
            return try await catalog.history(of: catalog.resolve(BuildSelector(parsing: "base@1.2.0/7")))
        }
    }

    @Test func aTestedBuildIsShippedToEveryTargetAndRecorded() async throws {
        let build = try await TestedBuild()
        defer { build.scratch.remove() }
        let targets = [build.scratch.file("eu-west-1"), build.scratch.file("us-east-1")]
        let first = try await build.distribute(targets)
        #expect(first.status == .exited(0), "\(first.output)")
        for target in targets {
            #expect(first.output.contains("base@1.2.0/7 → \(target)/base/1.2.0-7 (copied 4 file(s))"))
            let sums = try String(contentsOfFile: target + "/base/1.2.0-7/SHA256SUMS", encoding: .utf8)
            #expect(
                sums.split(separator: "\n").map { $0.split(separator: " ").last! } == ["disk.qcow2", "report.json", "report.dsse.json"])
        }
        let history = try await build.history()
        #expect(history.build.state == .available)
        #expect(history.states.suffix(2).map(\.state) == [.distributing, .available])
        #expect(history.distributions.map(\.target) == targets.map { "directory:" + $0 })
        #expect(history.distributions.allSatisfy { $0.state == "DONE" })

        let again = try await build.distribute(targets)
        #expect(again.status == .exited(0), "\(again.output)")
        #expect(again.output.contains("(already complete)"))
    }

    @Test func aReportChangedAfterTestingIsRefusedAndNothingIsTouched() async throws {
        let build = try await TestedBuild()
        defer { build.scratch.remove() }
        try Data(#"{"gate": {"threshold": "critical", "verdict": "pass"}, "image": {"build": 7, "name": "base", "version": "1.2.0"}}"#.utf8)
            .write(to: URL(fileURLWithPath: build.reports + "/report.json"))
        let target = build.scratch.file("eu-west-1")
        let refused = try await build.distribute([target])
        #expect(refused.status == .exited(1), "\(refused.output)")
        #expect(refused.output.contains("hallmark: distribution refused, no target touched: report \(build.reports)/report.json:"))
        #expect(!FileManager.default.fileExists(atPath: target))
        let history = try await build.history()
        #expect(history.build.state == .available)
        #expect(history.distributions.map(\.state) == ["REFUSED"])
    }

    @Test func aTestedBuildIsPushedToARegistryAndVerifiedFromIt() async throws {
        let build = try await TestedBuild()
        defer { build.scratch.remove() }
        let registry = try await LocalRegistry()
        let pushed = try await build.distribute(["registry:\(registry.host)/images/base"])
        let verify = ["verify", "registry:\(registry.host)/images/base:1.2.0-7", "--key", build.keys.publicKeyPath, "--json"]
        let verified = try await runCapturingOutput(Hallmark.binary, verify, environment: ["HALLMARK_HOME": build.home])
        // Signed with another key: the same pull, refused at the signature.
        let other = try KeyFiles.generate(in: build.scratch.file("other"))
        var wrongKey = verify
        wrongKey[3] = other.publicKeyPath
        let refused = try await runCapturingOutput(Hallmark.binary, wrongKey, environment: ["HALLMARK_HOME": build.home])
        await registry.stop()

        #expect(pushed.status == .exited(0), "\(pushed.output)")
        #expect(pushed.output.contains("base@1.2.0/7 → \(registry.host)/images/base:1.2.0-7 sha256:"))
        #expect(pushed.output.contains("referrers: tag sha256-"))
        let history = try await build.history()
        #expect(history.distributions.map(\.target) == ["registry:\(registry.host)/images/base"])
        #expect(history.distributions.allSatisfy { $0.state == "DONE" })

        #expect(verified.status == .exited(0), "\(verified.output)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(verified.output.utf8)) as? [String: Any])
        #expect(result["verified"] as? Bool == true)
        #expect(result["coverage"] as? String == "everySubject")
        #expect(refused.status == .exited(1), "\(refused.output)")
        #expect(refused.output.contains("signature"))
        // The downloads are gone.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: build.home + "/run"))?.isEmpty ?? true)
    }

    @Test func aBuildWithoutAPassingTestRunIsNotDistributed() async throws {
        let build = try await TestedBuild(verdict: "fail")
        defer { build.scratch.remove() }
        let target = build.scratch.file("eu-west-1")
        let refused = try await build.distribute([target])
        #expect(refused.status == .exited(64), "\(refused.output)")
        #expect(refused.output.contains("base@1.2.0/7 has no passing signed test run"))
        #expect(!FileManager.default.fileExists(atPath: target))
    }
}
