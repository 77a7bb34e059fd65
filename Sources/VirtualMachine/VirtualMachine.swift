import Foundation
import GuestAgent
import HallmarkSupport
import QMP
import SocketIO

/// A running QEMU, owned by exactly one object. `shutdown()` always runs (callers use
/// `VirtualMachine.with`), and Ctrl-C is handled by `ChildRegistry`, so no QEMU outlives Hallmark.
public actor VirtualMachine {
    public let configuration: MachineConfiguration
    private let process: ChildProcess
    private let qmp: QMPClient
    private var agent: GuestAgentClient?
    private var resets = 0
    private var eventWatcher: Task<Void, Never>?
    private var stopped = false

    public var qemuVersion: String { qmp.qemuVersion }

    private init(configuration: MachineConfiguration, process: ChildProcess, qmp: QMPClient) {
        self.configuration = configuration
        self.process = process
        self.qmp = qmp
    }

    /// Starts QEMU and connects QMP. If anything fails after QEMU started, QEMU is torn down.
    public static func start(_ configuration: MachineConfiguration) async throws -> VirtualMachine {
        _ = try HostTool.qemu.resolve()
        let process = try ChildProcess.spawn(configuration.qemuCommand, outputPath: configuration.qemuLog)
        do {
            let qmp = try await connectQMP(configuration, process: process)
            let machine = VirtualMachine(configuration: configuration, process: process, qmp: qmp)
            await machine.watchEvents()
            return machine
        } catch {
            await process.terminate(grace: .seconds(2))
            throw error
        }
    }

    /// Runs `body` with a started VM and always shuts it down afterwards, whatever `body` did.
    public static func with<T: Sendable>(_ configuration: MachineConfiguration, _ body: (VirtualMachine) async throws -> T) async throws -> T {
        let machine = try await start(configuration)
        do {
            let result = try await body(machine)
            await machine.shutdown()
            return result
        } catch {
            await machine.shutdown()
            throw error
        }
    }

    private static func connectQMP(_ configuration: MachineConfiguration, process: ChildProcess) async throws -> QMPClient {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            if let ended = process.reap() {
                let log = (try? String(contentsOfFile: configuration.qemuLog, encoding: .utf8)) ?? ""
                throw HallmarkError.infrastructure("QEMU exited at start (\(ended)):\n\(lastLines(of: log, count: 20))")
            }
            if FileManager.default.fileExists(atPath: configuration.qmpSocket),
               let qmp = try? await QMPClient.connect(path: configuration.qmpSocket, timeout: .seconds(5)) {
                return qmp
            }
            guard ContinuousClock.now < deadline else { throw HallmarkError.infrastructure("QEMU's QMP socket never answered") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func watchEvents() {
        let events = qmp.events
        eventWatcher = Task { [weak self] in
            for await event in events where event.name == "RESET" {
                await self?.countReset()
            }
        }
    }

    private func countReset() { resets += 1 }

    /// Waits until the guest agent answers, reconnecting as needed. Fails early if QEMU dies, and
    /// on timeout names what it waited for and shows the console's last 40 lines.
    public func waitForAgent(timeout: Duration) async throws -> GuestAgentClient {
        if let agent { return agent }
        let deadline = ContinuousClock.now + timeout
        while true {
            if let ended = process.reap() {
                throw HallmarkError.infrastructure("QEMU exited (\(ended)) before the guest agent answered.\n\(consoleTail())")
            }
            let attempt = min(Duration.seconds(2), max(deadline - .now, .milliseconds(100)))
            if let client = try? await GuestAgentClient.connect(path: configuration.agentSocket, timeout: attempt) {
                agent = client
                return client
            }
            guard ContinuousClock.now < deadline else {
                throw HallmarkError.infrastructure(
                    "the guest agent (\(MachineConfiguration.agentPortName)) did not answer within \(timeout.formattedSeconds); is qemu-guest-agent installed in the image?\n\(consoleTail())")
            }
        }
    }

    /// Runs a shell command in the guest through the agent.
    /// `label` names the command in errors (a whole script would be unreadable there).
    public func exec(_ command: String, label: String? = nil, timeout: Duration) async throws -> ExecResult {
        let agent = try await waitForAgent(timeout: timeout)
        do {
            return try await agent.exec(command, timeout: timeout)
        } catch let error as GuestAgentError {
            let name = label ?? String(command.prefix { $0 != "\n" }.prefix(120))
            throw HallmarkError.infrastructure("in the guest, \(name): \(error)")
        }
    }

    public func bootID(timeout: Duration) async throws -> String {
        let agent = try await waitForAgent(timeout: timeout)
        do {
            return try await agent.bootID(timeout: timeout)
        } catch let error as GuestAgentError {
            throw HallmarkError.infrastructure("reading the guest's boot_id: \(error)")
        }
    }

    /// Asks the guest to reboot (`systemctl reboot`; the agent's guest-shutdown does not reboot a
    /// Debian 12 guest) and waits until it answers again with a new boot_id.
    public func reboot(timeout: Duration) async throws -> (before: String, after: String, seconds: Double) {
        let before = try await bootID(timeout: timeout)
        let client = try await waitForAgent(timeout: timeout)
        let start = ContinuousClock.now
        let resetsBefore = resets
        // Only start the command: its status may never come back, since the agent is going down.
        _ = try? await client.execute("guest-exec", arguments: ["path": "/bin/systemctl", "arg": ["reboot"]], timeout: .seconds(10))
        await client.close()
        agent = nil
        let deadline = start + timeout
        while ContinuousClock.now < deadline {
            // A reply from the old boot is possible until the guest resets; only a new boot_id counts.
            if let after = try? await bootID(timeout: min(.seconds(10), deadline - .now)), after != before {
                return (before, after, (ContinuousClock.now - start).seconds)
            }
            if let agent { await agent.close() }
            agent = nil
            try await Task.sleep(for: .milliseconds(250))
        }
        let sawReset = resets > resetsBefore
        throw HallmarkError.infrastructure(
            "the guest did not come back with a new boot_id within \(timeout.formattedSeconds) of `systemctl reboot`"
            + (sawReset ? " (QEMU saw the reset)" : " (QEMU saw no reset)") + ".\n\(consoleTail())")
    }

    /// The console's last 40 lines, for error messages.
    public func consoleTail() -> String {
        let text = (try? String(contentsOfFile: configuration.consoleLog, encoding: .utf8)) ?? ""
        return "Last lines of the serial console (\(configuration.consoleLog)):\n" + lastLines(of: text, count: 40)
    }

    /// quit → SIGTERM → SIGKILL, then removes the run directory. Idempotent.
    public func shutdown() async {
        guard !stopped else { return }
        stopped = true
        if let agent { await agent.close() }
        agent = nil
        _ = try? await qmp.execute("quit", timeout: .seconds(2))
        let deadline = ContinuousClock.now + .seconds(3)
        while process.reap() == nil, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        await process.terminate(grace: .seconds(3))
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        try? FileManager.default.removeItem(atPath: configuration.runDirectory)
        ChildRegistry.shared.removeDirectory(configuration.runDirectory)
    }
}
