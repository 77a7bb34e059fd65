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

    public var id: String { (runDirectory as NSString).lastPathComponent }
    var agentSocket: String { MachineConfiguration.agentSocket(in: runDirectory) }
    var shellSocket: String { MachineConfiguration.shellSocket(in: runDirectory) }
    var qmpSocket: String { MachineConfiguration.qmpSocket(in: runDirectory) }

    func write() throws {
        try JSONEncoder.hallmark.encode(self).write(to: URL(fileURLWithPath: runDirectory + "/run.json"), options: .atomic)
    }

    /// Every kept VM whose QEMU is still alive.
    public static func all(home: HallmarkHome) -> [KeptMachine] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: home.run)) ?? []
        return entries.sorted().compactMap { try? load(home: home, id: $0) }.filter { kill($0.pid, 0) == 0 }
    }

    public static func load(home: HallmarkHome, id: String) throws -> KeptMachine {
        let path = home.run + "/\(id)/run.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HallmarkError(.usage, "no kept VM '\(id)' (no \(path)); `hallmark shell` without arguments lists them")
        }
        return try JSONDecoder.hallmark.decode(KeptMachine.self, from: data)
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
        } catch where error is GuestAgentError || error is ConsoleShellError {
            throw HallmarkError.infrastructure("in the kept VM \(id): \(error)")
        }
    }

    /// quit over QMP, then SIGTERM → SIGKILL; removes the run directory.
    public func stop() async {
        if let qmp = try? await QMPClient.connect(path: qmpSocket, timeout: .seconds(3)) {
            _ = try? await qmp.execute("quit", timeout: .seconds(2))
            await qmp.close()
        }
        for signal in [Int32(0), SIGTERM, SIGKILL] {
            if signal != 0 { _ = kill(-pid, signal) }
            let deadline = ContinuousClock.now + .seconds(3)
            while kill(pid, 0) == 0, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if kill(pid, 0) != 0 { break }
        }
        try? FileManager.default.removeItem(atPath: runDirectory)
    }
}
