import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// `hallmark run` with a signing key: the gate opens on every control, the report set is complete and
/// valid, and `hallmark verify` binds the envelope to the tested image and to nothing else.
extension EndToEndTests.SignedEvidence {
    @Test func defaultRecipePassesItsGateWithSignedEvidence() async throws {
        let reports = Hallmark.scratchReports()
        let keys = try await Hallmark.run(["key", "generate", "--out", reports + "/keys"], reports: reports, passReports: false)
        try #require(keys.status == .exited(0), "\(keys.output)")
        let run = try await Hallmark.run(
            ["run", Repository.root + "/Tests/Fixtures/minimal.yaml", "--signing-key", reports + "/keys/hallmark.key"], reports: reports)
        #expect(run.status == .exited(0), "\(run.output)")
        #expect(run.output.contains("gate open"))
        #expect(!run.output.contains("BEGIN PRIVATE KEY"))

        let report = try run.report(image: "e2e-minimal")
        #expect(report.gate.verdict == "pass")
        let controls = report.controls
        // 15 baseline controls plus one per component test phase.
        #expect(controls.count == 17)
        #expect(controls.allSatisfy { $0.result == "pass" }, "\(controls.filter { $0.result != "pass" })")
        let reboot = try #require(report.control("reboots-cleanly"))
        #expect(reboot.evidence.contains("→"))

        let timings = report.timings
        for phase in ["bootstrap", "components", "disk", "boot", "checks", "reboot", "imageFacts"] {
            #expect(timings[phase] != nil, "no timing for \(phase)")
        }
        // Static facts come from the artifact itself, read on the host while the guest booted;
        // runtime facts from the guest. Each control says which.
        #expect(report.host.staticFacts == "image")
        let observedIn = { (id: String) in report.control(id)?.observedIn }
        #expect(observedIn("shadow-permissions") == ["image"])
        #expect(observedIn("sshd-permit-root-login") == ["image"])
        #expect(observedIn("boot-health") == ["guest"])
        #expect(observedIn("ip-forwarding-disabled") == ["guest"])
        let disk = try #require(report.image.artifacts.first { $0.role == "disk.qcow2" })
        #expect(disk.sha256 == disk.sha256AfterTest)
        #expect(try await Digest.sha256(fileAt: disk.path) == disk.sha256)

        let directory = try run.reportDirectory(image: "e2e-minimal")
        try await Schemas.validateReport(directory + "/report.json")

        // The envelope covers the image that was tested, and only that image.
        let verify = try await Hallmark.run(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--artifact", disk.path],
            reports: reports, passReports: false)
        #expect(verify.status == .exited(0), "\(verify.output)")
        let wrongArtifact = try await Hallmark.run(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--artifact", directory + "/junit.xml"],
            reports: reports, passReports: false)
        #expect(wrongArtifact.status == .exited(1))
        #expect(wrongArtifact.output.contains("verification failed: artifact"), "\(wrongArtifact.output)")
        // No file and no --no-artifacts: the envelope would be bound to nothing, so verify refuses.
        let unbound = try await Hallmark.run(
            ["verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub"], reports: reports, passReports: false)
        #expect(unbound.status == .exited(64), "\(unbound.output)")
        let imageDirectory = (disk.path as NSString).deletingLastPathComponent
        let wholeImage = try await Hallmark.run(
            [
                "verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--image-dir", imageDirectory,
                "--all-subjects", "--image", "e2e-minimal", "--gate-covers", "critical",
            ],
            reports: reports, passReports: false)
        #expect(wholeImage.status == .exited(0), "\(wholeImage.output)")
        #expect(wholeImage.output.contains("files match: disk.qcow2 = "), "\(wholeImage.output)")
        let otherImage = try await Hallmark.run(
            [
                "verify", directory + "/report.dsse.json", "--key", reports + "/keys/hallmark.pub", "--image-dir", imageDirectory,
                "--image", "other",
            ],
            reports: reports, passReports: false)
        #expect(otherImage.status == .exited(1))
        try Schemas.validateJUnit(directory + "/junit.xml")
        let junit = try String(contentsOfFile: directory + "/junit.xml", encoding: .utf8)
        #expect(junit.components(separatedBy: "<testcase ").count - 1 == 17)
        #expect(!junit.contains("<failure"))
        let html = try String(contentsOfFile: directory + "/report.html", encoding: .utf8)
        #expect(html.contains("Gate open"))
        #expect(!html.contains("http://") && !html.contains("https://"), "report.html must not fetch anything")
        for file in [
            "facts.json", "collector.sh", "image-collector.sh", "summary.md", "console.log", "build.log", "report.dsse.json",
            "detailedoutput.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "missing \(file)")
        }
        // The components' test phases ran in the guest, step by step, as detailedoutput.json says.
        let testRun = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/test-detailedoutput.json")))
                as? [String: Any])
        #expect(testRun["status"] as? String == "success", "\(testRun)")
        let documents = (testRun["documents"] as? [[String: Any]]) ?? []
        #expect(documents.compactMap { $0["name"] as? String } == ["ssh-hardening", "sysctl-hardening"], "\(documents)")
        #expect(documents.allSatisfy { (($0["phases"] as? [[String: Any]]) ?? []).map { $0["name"] as? String } == ["test"] })
        #expect(Hallmark.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty)
    }
}
