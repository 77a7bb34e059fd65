import Foundation
import Testing

@testable import HallmarkSupport

/// The child-process owner: its own process group, output to a file, one awaited exit, and
/// SIGTERM → grace → SIGKILL.
@Suite struct ChildProcessTests {
    static func scratchFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-child-\(UUID().uuidString.prefix(8))").path
    }

    /// Waits until `path` holds a line (the child is past its setup), and returns the file's text.
    static func waitForLine(in path: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains("\n") { return text }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the child never wrote to \(path)")
        return ""
    }

    /// Gone, or a zombie waiting for a parent that is not us.
    static func isDead(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 else { return true }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else {
            return true
        }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    @Test func runsInItsOwnProcessGroup() async throws {
        let child = try ChildProcess.spawn(HostCommand("/bin/sleep", ["30"]), outputPath: nil)
        #expect(getpgid(child.pid) == child.pid)
        #expect(getpgid(child.pid) != getpgrp())
        #expect(ChildRegistry.shared.livePIDs.contains(child.pid), "an interrupt must be able to find it")
        await child.terminate(grace: .seconds(5))
        #expect(child.termination == .signaled(SIGTERM))
    }

    @Test func terminateEndsAChildThatHonoursSIGTERMWithinTheGrace() async throws {
        let child = try ChildProcess.spawn(HostCommand("/bin/sleep", ["30"]), outputPath: nil)
        let start = ContinuousClock.now
        await child.terminate(grace: .seconds(20))
        #expect(ContinuousClock.now - start < .seconds(10), "the grace is a limit, not a wait")
        #expect(await child.wait() == .signaled(SIGTERM))
        #expect(Self.isDead(child.pid))
    }

    @Test func aChildIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let output = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: output) }
        // An ignored signal stays ignored across exec.
        let child = try ChildProcess.spawn(HostCommand("/bin/sh", ["-c", "trap '' TERM; echo ready; exec sleep 30"]), outputPath: output)
        _ = try await Self.waitForLine(in: output)
        let start = ContinuousClock.now
        await child.terminate(grace: .milliseconds(500))
        let elapsed = ContinuousClock.now - start
        #expect(child.termination == .signaled(SIGKILL))
        #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(10))
    }

    @Test func theWholeProcessGroupIsTerminated() async throws {
        let output = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try ChildProcess.spawn(HostCommand("/bin/sh", ["-c", "sleep 30 & echo $!; wait"]), outputPath: output)
        let grandchild = try #require(pid_t((try await Self.waitForLine(in: output)).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(getpgid(grandchild) == child.pid)
        await child.terminate(grace: .seconds(5))
        let deadline = ContinuousClock.now + .seconds(5)
        while !Self.isDead(grandchild), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(Self.isDead(grandchild), "the child's own child outlived it")
    }

    @Test func outputGoesToTheFiles() async throws {
        let combined = Self.scratchFile(), errors = Self.scratchFile()
        defer { for path in [combined, errors] { try? FileManager.default.removeItem(atPath: path) } }
        let script = "echo out; echo err >&2; read line || echo stdin is empty"
        #expect(try await ChildProcess.spawn(HostCommand("/bin/sh", ["-c", script]), outputPath: combined).wait() == .exited(0))
        #expect(try String(contentsOfFile: combined, encoding: .utf8) == "out\nerr\nstdin is empty\n")

        let stdout = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: stdout) }
        #expect(
            try await ChildProcess.spawn(HostCommand("/bin/sh", ["-c", script]), outputPath: stdout, errorPath: errors).wait() == .exited(0)
        )
        #expect(try String(contentsOfFile: stdout, encoding: .utf8) == "out\nstdin is empty\n")
        #expect(try String(contentsOfFile: errors, encoding: .utf8) == "err\n")
    }

    @Test func concurrentWaitersAllSeeTheOneExit() async throws {
        let output = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try ChildProcess.spawn(HostCommand("/bin/sh", ["-c", "read x < /dev/null; sleep 0.3; exit 7"]), outputPath: output)
        #expect(child.termination == nil)
        let results = await withTaskGroup(of: Termination.self) { group in
            for _ in 0..<16 { group.addTask { await child.wait() } }
            group.addTask { await child.exited(within: .seconds(30)) ?? .exited(-99) }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results == Array(repeating: .exited(7), count: 17))
        #expect(child.termination == .exited(7))
        // Waiting again reads the stored result: the child was reaped once.
        #expect(await child.wait() == .exited(7))
        let deadline = ContinuousClock.now + .seconds(5)
        while ChildRegistry.shared.livePIDs.contains(child.pid), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(!ChildRegistry.shared.livePIDs.contains(child.pid), "an ended child stays registered for teardown")
    }

    @Test func exitedWithinGivesUpOnARunningChild() async throws {
        let child = try ChildProcess.spawn(HostCommand("/bin/sleep", ["30"]), outputPath: nil)
        let start = ContinuousClock.now
        #expect(await child.exited(within: .milliseconds(200)) == nil)
        #expect(ContinuousClock.now - start < .seconds(10))
        await child.terminate(grace: .seconds(5))
    }

    @Test func aCancelledWaitTerminatesTheChild() async throws {
        let child = try ChildProcess.spawn(HostCommand("/bin/sleep", ["30"]), outputPath: nil)
        let waiting = Task { await child.wait() }
        try await Task.sleep(for: .milliseconds(100))
        waiting.cancel()
        #expect(await waiting.value == .signaled(SIGTERM))
        #expect(Self.isDead(child.pid))
    }

    /// An adopted pid (a kept VM's QEMU) is signalled only while it still names the process.
    @Test func anAdoptedProcessIsSignalledOnlyWhileItIsStillTheOne() async throws {
        let real = try ChildProcess.spawn(HostCommand("/bin/sleep", ["30"]), outputPath: nil)
        let impostor = ChildProcess.adopt(pid: real.pid, command: HostCommand("sleep"), isStillTheProcess: { false })
        await impostor.terminate(grace: .milliseconds(100), killTimeout: .milliseconds(100))
        #expect(kill(real.pid, 0) == 0 && real.termination == nil, "a process that is no longer the adopted one was signalled")

        let adopted = ChildProcess.adopt(pid: real.pid, command: HostCommand("sleep"), isStillTheProcess: { real.termination == nil })
        await adopted.terminate(grace: .seconds(5), killTimeout: .seconds(5))
        #expect(await real.wait() == .signaled(SIGTERM))
    }

    /// What an interrupt does before exiting 130/143: every registered child ends, one that ignores
    /// SIGTERM by SIGKILL after the grace, and the registered directories go.
    @Test func theInterruptTeardownEndsEveryChild() async throws {
        let output = Self.scratchFile(), directory = Self.scratchFile()
        defer { try? FileManager.default.removeItem(atPath: output) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let polite = try ChildProcess.spawn(HostCommand("/bin/sleep", ["30"]), outputPath: nil)
        let stubborn = try ChildProcess.spawn(
            HostCommand("/bin/sh", ["-c", "trap '' TERM; echo ready; exec sleep 30"]), outputPath: output)
        _ = try await Self.waitForLine(in: output)
        let registry = ChildRegistry()
        #expect(registry.add(polite) && registry.add(stubborn))
        registry.addDirectory(directory)
        // Blocking, as on the signal handler's queue: off the task pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                registry.tearDownEverything(grace: 0.5)
                done.resume()
            }
        }
        #expect(polite.termination == .signaled(SIGTERM))
        #expect(stubborn.termination == .signaled(SIGKILL))
        #expect(!FileManager.default.fileExists(atPath: directory))
        #expect(
            !registry.add(try ChildProcess.spawn(HostCommand("/bin/true"), outputPath: nil)),
            "a child spawned after the teardown is refused")
    }
}
