import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import ImageStore
import Testing

/// A run that loses its reader or is interrupted leaves no QEMU, no run directory and no stale evidence.
extension EndToEndTests.Interrupts {
    /// A reader that goes away (`| head`, a killed CI step) must not kill Hallmark with SIGPIPE
    /// and orphan its QEMU: Hallmark finishes the test, and nothing is left running.
    @Test func closedOutputPipeDoesNotOrphanQEMU() async throws {
        let recipe = Repository.root + "/Tests/Fixtures/minimal-one-boot.yaml"
        let reports = Hallmark.scratchReports()
        try await Hallmark.ensureBuilt(recipe, image: "e2e-minimal", reports: reports)
        try FileManager.default.createDirectory(atPath: reports, withIntermediateDirectories: true)
        let pipeline =
            "\(shellQuoted(Hallmark.binary)) test \(shellQuoted(recipe)) --reports \(shellQuoted(reports)) 2>&1 | head -n 1; exit ${PIPESTATUS[0]}"
        let child = try ChildProcess.spawn(
            HostCommand("/bin/bash", ["-c", pipeline], environment: ["HALLMARK_HOME": Hallmark.home]),
            outputPath: reports + "/pipeline.out")
        let status = await child.wait()
        #expect(status == .exited(0), "\((try? String(contentsOfFile: reports + "/pipeline.out", encoding: .utf8)) ?? "")")
        #expect(Hallmark.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty)
    }

    @Test func interruptDuringBootStopsQEMUAndExits130() async throws {
        let recipe = Repository.root + "/Tests/Fixtures/minimal.yaml"
        let reports = Hallmark.scratchReports()
        try await Hallmark.ensureBuilt(recipe, image: "e2e-minimal", reports: reports)
        // Evidence an earlier test of the same build left must not survive next to an interrupted one.
        let image = try #require(try ImageStore(home: HallmarkHome(root: Hallmark.home)).latest(name: "e2e-minimal", version: "1.0.0"))
        let evidence = reports + "/e2e-minimal/1.0.0-\(image.build)"
        try FileManager.default.createDirectory(atPath: evidence, withIntermediateDirectories: true)
        try "<testsuites/>".write(toFile: evidence + "/junit.xml", atomically: true, encoding: .utf8)
        // Other Hallmark runs may share this home (a developer's own); only this run's leftovers count.
        let directoriesBefore = Set(Hallmark.runDirectories())
        let run = try await Hallmark.run(["test", recipe], reports: reports) { child, log in
            // Interrupt once QEMU is up and the guest is booting.
            let deadline = ContinuousClock.now + .seconds(120)
            var booting = false
            while ContinuousClock.now < deadline, !booting {
                let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                booting = output.contains("boot e2e-minimal") && !Hallmark.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty
                if !booting { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(booting, "QEMU never started, so the interrupt would prove nothing")
            try await Task.sleep(for: .milliseconds(Int.random(in: 500...4000)))
            child.signalGroup(SIGINT)
        }
        #expect(run.status == .exited(130), "\(run.output)")
        #expect(run.output.contains("interrupted"))
        #expect(Hallmark.leftoverQEMU(named: "hallmark-e2e-minimal").isEmpty)
        #expect(Set(Hallmark.runDirectories()).subtracting(directoriesBefore).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: evidence + "/junit.xml"), "a stale junit.xml survived the interrupted test")
    }
}
