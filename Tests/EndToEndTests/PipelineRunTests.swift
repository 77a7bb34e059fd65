import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageStore
import Testing

/// One pipeline through every stage on the shared fixture recipe: built, tested with a signed report,
/// verified by the release gate and landed in two directory targets, a registry and an OCI layout,
/// the catalog following along.
extension EndToEndTests.PipelineRun {
    @Test func aPassingPipelineLandsInTwoDirectoriesARegistryAndAnOCILayout() async throws {
        let reports = Hallmark.scratchReports()
        let registry = try await LocalRegistry()
        let keys = try await Hallmark.run(["key", "generate", "--out", reports + "/keys"], reports: reports, passReports: false)
        try #require(keys.status == .exited(0), "\(keys.output)")
        let targets = [reports + "/eu-west-1", reports + "/us-east-1"]
        let pipeline = reports + "/pipeline.yaml"
        try """
        name: e2e-pipeline
        recipe: \(Repository.root)/Tests/Fixtures/minimal-one-boot.yaml
        signing: {key: keys/hallmark.key}
        distribute:
          - directory: eu-west-1
          - directory: us-east-1
          - registry: \(registry.host)/images/e2e-minimal
          - oci-layout: oci/e2e-minimal

        """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        let run = try await Hallmark.run(["pipeline", "run", pipeline], reports: reports)
        #expect(run.status == .exited(0), "\(run.output)")
        guard let line = run.output.split(separator: "\n").first(where: { $0.hasPrefix("e2e-minimal@1.0.0/") && $0.contains(" → ") }) else {
            await registry.stop()
            Issue.record("no distribution line in \(run.output)")
            return
        }
        let reference = String(line.split(separator: " ")[0])
        let build = String(reference.split(separator: "/").last!)
        // The registry: skopeo reads the artifact under its tag and the referrers under the fallback
        // tag; `hallmark verify` pulls it back and accepts it.
        let tagged = "\(registry.host)/images/e2e-minimal:1.0.0-\(build)"
        let pushed = try await runCapturingOutput("/usr/bin/skopeo", ["inspect", "--raw", "--tls-verify=false", "docker://" + tagged])
        let fromRegistry = try await Hallmark.run(
            ["verify", "registry:" + tagged, "--key", reports + "/keys/hallmark.pub"], reports: reports, passReports: false)
        await registry.stop()
        #expect(pushed.output.contains("\"artifactType\":\"application/vnd.hallmark.image.v1\""), "\(pushed.output)")
        #expect(fromRegistry.status == .exited(0), "\(fromRegistry.output)")
        #expect(fromRegistry.output.contains("verified"), "\(fromRegistry.output)")
        for target in targets {
            let directory = target + "/e2e-minimal/1.0.0-\(build)"
            let sums = try String(contentsOfFile: directory + "/SHA256SUMS", encoding: .utf8)
            #expect(
                sums.split(separator: "\n").map { String($0.split(separator: " ").last!) } == [
                    "disk.qcow2", "initrd.img", "vmlinuz", "report.json", "report.dsse.json",
                ])
            // What landed is what `hallmark verify` accepts, from the target's own copies.
            let verify = try await Hallmark.run(
                [
                    "verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--image-dir", directory,
                    "--all-subjects",
                ],
                reports: reports, passReports: false)
            #expect(verify.status == .exited(0), "\(verify.output)")
        }
        // The OCI layout: skopeo reads the artifact under its tag; its envelope is a referrer.
        let inspect = try await runCapturingOutput(
            "/usr/bin/skopeo", ["inspect", "--raw", "oci:\(reports)/oci/e2e-minimal:1.0.0-\(build)"])
        #expect(inspect.status == .exited(0), "\(inspect.output)")
        #expect(inspect.output.contains("\"artifactType\":\"application/vnd.hallmark.image.v1\""), "\(inspect.output)")
        let index = try String(contentsOfFile: reports + "/oci/e2e-minimal/index.json", encoding: .utf8)
        #expect(index.contains("\"artifactType\":\"application/vnd.dsse.envelope.v1+json\""))
        let show = try await Hallmark.run(
            ["images", "show", reference, "--json"], reports: reports, passReports: false, separateErrors: true)
        let history = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any])
        let states = (history["states"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(states == ["BUILDING", "TESTING", "DISTRIBUTING", "AVAILABLE"])
        let distributions = (history["distributions"] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
        #expect(distributions == ["DONE", "DONE", "DONE", "DONE"])
        try await Self.updatesAreJudgedAgainstThatBuild(pipeline: pipeline, reference: reference, reports: reports)
    }

    /// `--if-updates` against the AVAILABLE build the run left, with a local archive as the only
    /// update source: an index at the installed versions builds nothing; one newer package makes
    /// a build due, and says which.
    static func updatesAreJudgedAgainstThatBuild(pipeline: String, reference: String, reports: String) async throws {
        let image = try #require(try ImageStore(home: SharedImages.home).latest(name: "e2e-minimal", version: "1.0.0"))
        #expect(reference == "e2e-minimal@1.0.0/\(image.build)")
        let archive = reports + "/archive"
        let index = archive + "/dists/bookworm/main/binary-amd64"
        try FileManager.default.createDirectory(atPath: index, withIntermediateDirectories: true)
        let installed = image.packages.map { $0.split(separator: " ", maxSplits: 1).map(String.init) }.filter { $0.count == 2 }
        func writeIndex(_ version: (String, String) -> String) throws {
            try installed.map { "Package: \($0[0].split(separator: ":")[0])\nVersion: \(version($0[0], $0[1]))\n" }
                .joined(separator: "\n").write(toFile: index + "/Packages", atomically: true, encoding: .utf8)
        }
        let definition = try String(contentsOfFile: pipeline, encoding: .utf8)
        try (definition + "updates: {sources: [{url: \"file://\(archive)\", suite: bookworm}]}\n")
            .write(toFile: pipeline, atomically: true, encoding: .utf8)

        try writeIndex { _, version in version }
        let unchanged = try await Hallmark.run(["pipeline", "run", pipeline, "--if-updates"], reports: reports)
        #expect(unchanged.status == .exited(0), "\(unchanged.output)")
        #expect(unchanged.output.contains("e2e-pipeline: up to date (\(reference)); nothing built"), "\(unchanged.output)")
        #expect(try ImageStore(home: SharedImages.home).latest(name: "e2e-minimal", version: "1.0.0")?.build == image.build)

        try writeIndex { name, version in name == "openssh-server" ? "1:99.0-1" : version }
        let due = try await Hallmark.run(
            ["pipeline", "check", pipeline, "--json"], reports: reports, passReports: false, separateErrors: true)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(due.output.utf8)) as? [String: Any], "\(due.output)")
        #expect(answer["update"] as? Bool == true)
        let reasons = answer["reasons"] as? [String] ?? []
        #expect(
            reasons.count == 1 && reasons[0].hasPrefix("openssh-server ") && reasons[0].hasSuffix(" → 1:99.0-1 in bookworm"), "\(reasons)")
    }
}
