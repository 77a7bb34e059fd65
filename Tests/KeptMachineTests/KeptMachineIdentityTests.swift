import Foundation
import HallmarkSupport
import Testing
import VirtualMachine

/// `hallmark stop` signals a recorded pid's whole process group: it must never reach a process
/// that merely inherited the pid, and never act on a run directory outside `$HALLMARK_HOME/run`.
@Suite struct KeptMachineIdentityTests {
    /// A scratch `$HALLMARK_HOME` with one run directory.
    struct Home {
        let home: HallmarkHome
        let id = "Kept01"
        var runDirectory: String { home.run + "/" + id }

        init() throws {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-kept-\(UUID().uuidString.prefix(8))").path
            home = HallmarkHome(root: root)
            try FileManager.default.createDirectory(atPath: home.run + "/" + id, withIntermediateDirectories: true)
        }

        func record(pid: Int32, runDirectory: String? = nil, startTime: UInt64? = nil) throws {
            let machine = KeptMachine(
                pid: pid, runDirectory: runDirectory ?? self.runDirectory, name: "test", consoleLog: "/dev/null",
                keptAt: Date(), channel: nil, processStartTime: startTime)
            let data = try JSONEncoder.hallmark.encode(machine)
            try data.write(to: URL(fileURLWithPath: self.runDirectory + "/run.json"))
        }

        func remove() { try? FileManager.default.removeItem(atPath: home.root) }
    }

    /// Spawns a child in its own process group, ended and reaped by `end`.
    static func spawn(_ executable: String, _ arguments: [String]) throws -> ChildProcess {
        try ChildProcess.spawn(HostCommand(executable, arguments), outputPath: nil)
    }

    static func isAlive(_ child: ChildProcess) -> Bool { kill(child.pid, 0) == 0 }

    static func end(_ child: ChildProcess) async {
        child.signalGroup(SIGKILL)
        _ = await child.wait()
    }

    @Test func anUnrelatedProcessWithTheRecordedPidIsNotSignalled() async throws {
        let scratch = try Home()
        defer { scratch.remove() }
        let unrelated = try Self.spawn("/bin/sleep", ["60"])
        try scratch.record(pid: unrelated.pid)

        let machine = try KeptMachine.load(home: scratch.home, id: scratch.id)
        guard case .other = machine.processIdentity() else {
            Issue.record("a sleep was taken for the kept QEMU: \(machine.processIdentity())")
            await Self.end(unrelated)
            return
        }
        #expect(KeptMachine.all(home: scratch.home).isEmpty, "stop --all must not list it")
        await #expect(throws: HallmarkError.self) { try await machine.stop() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(Self.isAlive(unrelated), "stop killed an unrelated process")
        #expect(FileManager.default.fileExists(atPath: scratch.runDirectory + "/run.json"), "the record is kept for the user to inspect")
        await Self.end(unrelated)
    }

    @Test func aProcessNamingTheRunDirectoryButStartedLaterIsNotSignalled() async throws {
        let scratch = try Home()
        defer { scratch.remove() }
        // Its command line names the run directory, like QEMU's, but it is not the process that was kept.
        let impostor = try Self.spawn("/bin/sh", ["-c", "sleep 60; :", scratch.runDirectory + "/qmp.sock"])
        let startTime = try #require(KeptMachine.startTime(of: impostor.pid))
        try scratch.record(pid: impostor.pid, startTime: startTime - 1)

        let machine = try KeptMachine.load(home: scratch.home, id: scratch.id)
        await #expect(throws: HallmarkError.self) { try await machine.stop() }
        #expect(Self.isAlive(impostor))
        await Self.end(impostor)
    }

    @Test func theKeptProcessItselfIsStoppedAndItsRunDirectoryRemoved() async throws {
        let scratch = try Home()
        defer { scratch.remove() }
        let kept = try Self.spawn("/bin/sh", ["-c", "sleep 60; :", scratch.runDirectory + "/qmp.sock"])
        try scratch.record(pid: kept.pid, startTime: KeptMachine.startTime(of: kept.pid))

        let machine = try KeptMachine.load(home: scratch.home, id: scratch.id)
        #expect(machine.processIdentity() == .running)
        #expect(KeptMachine.all(home: scratch.home).map(\.id) == [scratch.id])
        let stopping = Task { try await machine.stop() }
        // stop() waits for the process to go; reap it meanwhile so it does not linger as a zombie.
        _ = await kept.wait()
        try await stopping.value
        #expect(!FileManager.default.fileExists(atPath: scratch.runDirectory))
    }

    @Test func aRunDirectoryOutsideTheHomeIsRefused() throws {
        let scratch = try Home()
        defer { scratch.remove() }
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-outside-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try scratch.record(pid: getpid(), runDirectory: outside)
        #expect(throws: HallmarkError.self) { try KeptMachine.load(home: scratch.home, id: scratch.id) }

        // A link inside run/ pointing elsewhere resolves outside and is refused as well.
        try FileManager.default.createSymbolicLink(atPath: scratch.home.run + "/Linked", withDestinationPath: outside)
        try FileManager.default.copyItem(atPath: scratch.runDirectory + "/run.json", toPath: outside + "/run.json")
        #expect(throws: HallmarkError.self) { try KeptMachine.load(home: scratch.home, id: "Linked") }
        #expect(throws: HallmarkError.self) { try KeptMachine.load(home: scratch.home, id: "../run") }
        #expect(FileManager.default.fileExists(atPath: outside))
    }
}
