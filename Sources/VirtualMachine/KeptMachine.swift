import ConsoleShell
import Foundation
import GuestAgent
import GuestChannel
import HallmarkSupport
import QMP

/// A test VM left running with `--keep-vm-on-failure`, described by `run.json` in its run
/// directory. `hallmark shell` runs commands in it; `hallmark stop` ends it.
public struct KeptMachine: Codable, Sendable {
    public var pid: Int32
    public var runDirectory: String
    public var name: String
    public var consoleLog: String
    public var keptAt: Date
    /// The channel the test used; `hallmark shell` uses the same one (nil in older run.json: the agent).
    public var channel: GuestChannelKind?
    /// QEMU's start time (field 22 of /proc/PID/stat, clock ticks after boot), so a reused pid is
    /// told apart from the QEMU that was kept (nil in older run.json: the command line alone decides).
    public var processStartTime: UInt64?

    public init(
        pid: Int32, runDirectory: String, name: String, consoleLog: String, keptAt: Date,
        channel: GuestChannelKind?, processStartTime: UInt64? = nil
    ) {
        (self.pid, self.runDirectory, self.name, self.consoleLog, self.keptAt) = (pid, runDirectory, name, consoleLog, keptAt)
        (self.channel, self.processStartTime) = (channel, processStartTime)
    }

    public var id: String { (runDirectory as NSString).lastPathComponent }
    var agentSocket: String { MachineConfiguration.agentSocket(in: runDirectory) }
    var shellSocket: String { MachineConfiguration.shellSocket(in: runDirectory) }
    var qmpSocket: String { MachineConfiguration.qmpSocket(in: runDirectory) }

    func write() throws {
        try JSONEncoder.hallmark.encode(self).write(to: URL(fileURLWithPath: runDirectory + "/run.json"), options: .atomic)
    }

    /// Every kept VM whose QEMU is still running (checked by identity, not only by pid).
    public static func all(home: HallmarkHome) -> [KeptMachine] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: home.run)) ?? []
        return entries.sorted().compactMap { try? load(home: home, id: $0) }.filter { $0.processIdentity() == .running }
    }

    /// Loads `$HALLMARK_HOME/run/<id>/run.json`; refuses a record whose run directory is not that directory.
    public static func load(home: HallmarkHome, id: String) throws -> KeptMachine {
        guard !id.isEmpty, !id.contains("/"), id != ".", id != ".." else {
            throw HallmarkError(.usage, "'\(id)' is not a kept VM id; `hallmark shell` without arguments lists them")
        }
        let path = home.run + "/\(id)/run.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HallmarkError(.usage, "no kept VM '\(id)' (no \(path)); `hallmark shell` without arguments lists them")
        }
        let machine = try JSONDecoder.hallmark.decode(KeptMachine.self, from: data)
        // The record names the directory that stop() deletes and whose sockets it talks to: it must
        // be the directory the record was found in, under $HALLMARK_HOME/run, after resolving links.
        let expected = resolvedPath(home.run + "/" + id)
        let runRoot = resolvedPath(home.run)
        guard let expected, let runRoot, expected.hasPrefix(runRoot + "/"),
            resolvedPath(machine.runDirectory) == expected
        else {
            throw HallmarkError(
                .usage, "\(path) names run directory \(machine.runDirectory), which is not \(home.run)/\(id); refusing to use it")
        }
        return machine
    }

    /// Whether `pid` is still the QEMU this record kept.
    public enum ProcessIdentity: Equatable, Sendable {
        case running
        /// No process has the pid any more.
        case gone
        /// The pid belongs to another process (reused); the reason says which check failed.
        case other(String)
    }

    /// Checks the process behind `pid` before anything signals it: its start time is the recorded
    /// one, its command line names this run directory, and it leads its own process group.
    public func processIdentity() -> ProcessIdentity {
        guard pid > 1 else { return .other("pid \(pid) cannot be a kept QEMU") }
        guard let startTime = Self.startTime(of: pid) else { return .gone }
        if let processStartTime, processStartTime != startTime {
            return .other("pid \(pid) started at tick \(startTime), the kept QEMU at \(processStartTime)")
        }
        guard let arguments = Self.commandLine(of: pid) else { return .gone }
        let marker = runDirectory.hasSuffix("/") ? runDirectory : runDirectory + "/"
        guard arguments.contains(where: { $0.contains(marker) }) else {
            return .other("pid \(pid)'s command line does not name \(runDirectory)")
        }
        guard getpgid(pid) == pid else { return .other("pid \(pid) does not lead its own process group") }
        return .running
    }

    /// Field 22 of /proc/PID/stat (start time in clock ticks after boot), or nil when there is no such process.
    public static func startTime(of pid: Int32) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name in parentheses may hold spaces and ')': the fields start after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ')' come field 3 (state) onwards, so field 22 is at index 19.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// The NUL-separated arguments of /proc/PID/cmdline, or nil when there is no such process.
    static func commandLine(of pid: Int32) -> [String]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        return data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func resolvedPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Runs a shell command in the guest through the same channel the checks used.
    public func exec(_ command: String, timeout: Duration = .seconds(300)) async throws -> ExecResult {
        let kind = channel ?? .agent
        let connection: any GuestChannel
        do {
            if kind == .agent {
                connection = try await GuestAgentClient.connect(path: agentSocket, timeout: .seconds(10))
            } else {
                let shell = try ConsoleShellClient.connect(path: shellSocket)
                try await shell.ping(timeout: .seconds(10))
                connection = shell
            }
        } catch {
            throw HallmarkError.infrastructure("the kept VM \(id) does not answer on its \(kind): \(error)")
        }
        let result: Result<ExecResult, any Error>
        do {
            result = .success(try await connection.exec(command, timeout: timeout))
        } catch {
            result = .failure(error)
        }
        await connection.close()
        do {
            return try result.get()
        } catch  where error is GuestAgentError || error is ConsoleShellError {
            throw HallmarkError.infrastructure("in the kept VM \(id): \(error)")
        }
    }

    /// quit over QMP, then SIGTERM → SIGKILL to QEMU's process group, each only while the pid is
    /// still the kept QEMU; removes the run directory (a `load`ed record's, under `$HALLMARK_HOME/run`).
    ///
    /// Throws, signalling nothing and keeping the directory, when the pid now belongs to another process.
    public func stop() async throws {
        switch processIdentity() {
        case .running, .gone: break
        case .other(let reason):
            throw HallmarkError.infrastructure(
                "kept VM \(id): not signalling pid \(pid), it is no longer the kept QEMU (\(reason)); remove \(runDirectory) by hand if the VM is gone"
            )
        }
        // Checked again before each signal: the pid may have been reused since the last look.
        let qemu = ChildProcess.adopt(
            pid: pid, command: HostCommand("qemu-system-x86_64", ["-name", name]),
            isStillTheProcess: { processIdentity() == .running })
        if let qmp = try? await QMPClient.connect(path: qmpSocket, timeout: .seconds(3)) {
            try? await qmp.quit(timeout: .seconds(2))
            await qmp.close()
        }
        if processIdentity() == .running, await qemu.exited(within: .seconds(3)) == nil {
            await qemu.terminate(grace: .seconds(3), killTimeout: .seconds(3))
        }
        try? FileManager.default.removeItem(atPath: runDirectory)
    }
}
