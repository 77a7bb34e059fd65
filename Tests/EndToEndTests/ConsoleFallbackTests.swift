import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

/// The console shell, when the image has no guest agent; static facts from the guest when the host cannot mount.
extension EndToEndTests.ConsoleFallback {
    /// An image built without qemu-guest-agent is still tested, through the console shell: every
    /// check runs, the reboot is seen, the only failure is the control that wants the agent, and
    /// `hallmark shell` reaches the kept VM through the same channel.
    /// This run also finds `mount` refusing (a host without loop devices, say), so the static facts
    /// that would be read from the artifact are collected in the guest instead, and the report says so.
    @Test func imageWithoutAgentIsTestedThroughTheConsoleShell() async throws {
        let reports = Hallmark.scratchReports()
        let fakeTools = reports + "/fake-tools"
        try FileManager.default.createDirectory(atPath: fakeTools, withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'mount: permission denied (no loop devices here)' >&2\nexit 32\n"
            .write(toFile: fakeTools + "/mount", atomically: true, encoding: .utf8)
        chmod(fakeTools + "/mount", 0o755)
        let path = fakeTools + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
        let run = try await Hallmark.run(
            ["run", Repository.root + "/Tests/Fixtures/no-agent.yaml", "--keep-vm-on-failure"], reports: reports,
            environment: ["PATH": path])
        #expect(run.status == .exited(1), "\(run.output)")
        #expect(run.output.contains("the image has no qemu-guest-agent; using the console shell"), "\(run.output)")
        #expect(run.output.contains("static facts were collected in the guest"), "\(run.output)")
        let report = try run.report(image: "e2e-no-agent")
        let host = report.host
        #expect(host.guestChannel == "console")
        #expect(host.staticFacts == "guest")
        #expect(host.staticFactsNote?.contains("no loop devices here") == true, "\(host)")
        let controls = report.controls
        let failing = controls.filter { $0.result != "pass" }.map(\.id)
        #expect(failing == ["guest-agent-running"])
        #expect(controls.filter { $0.result == "pass" }.count >= 14)
        #expect(controls.contains { $0.id == "reboots-cleanly" && $0.result == "pass" })

        let idRange = try #require(run.output.range(of: #"hallmark shell ([A-Za-z0-9]+) -- "#, options: .regularExpression))
        let id = String(run.output[idRange].split(separator: " ")[2])
        let shell = try await Hallmark.run(
            ["shell", id, "--", "test ! -e /usr/sbin/qemu-ga && echo no agent here"], reports: reports, passReports: false)
        #expect(shell.status == .exited(0), "\(shell.output)")
        #expect(shell.output.contains("no agent here"))
        // Without a command, each line of stdin runs in turn.
        let script = "printf 'echo first line\\ncat /etc/hostname\\n' | \(shellQuoted(Hallmark.binary)) shell \(id)"
        let child = try ChildProcess.spawn(
            HostCommand("/bin/bash", ["-c", script], environment: ["HALLMARK_HOME": Hallmark.home]),
            outputPath: reports + "/stdin-shell.out")
        #expect(await child.wait() == .exited(0))
        let stdinOutput = try String(contentsOfFile: reports + "/stdin-shell.out", encoding: .utf8)
        #expect(stdinOutput.hasPrefix("first line\n") && stdinOutput.count > "first line\n".count, "\(stdinOutput)")

        let stop = try await Hallmark.run(["stop", "--all"], reports: reports, passReports: false)
        #expect(stop.status == .exited(0), "\(stop.output)")
        #expect(stop.output.contains("stopped \(id) (hallmark-e2e-no-agent)"), "\(stop.output)")
        #expect(Hallmark.leftoverQEMU(named: "hallmark-e2e-no-agent").isEmpty)
        #expect(!Hallmark.runDirectories().contains(id))
    }
}
