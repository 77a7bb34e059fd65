import Foundation
import GuestAgent
import HallmarkSupport
import QMP
import SocketIO

/// A running QEMU, owned by exactly one object. `shutdown()` always runs (callers use
/// `VirtualMachine.with`), and Ctrl-C is handled by `ChildRegistry`, so no QEMU outlives Hallmark.
///
/// A guest-initiated reboot ends the QEMU process (`-no-reboot`) and Hallmark starts a fresh one
/// on the same overlay: a power cycle. Under TCG a warm reset re-boots about twice as slowly,
/// because the new kernel writes over pages that still hold translated code from the old one.
public actor VirtualMachine {
    public let configuration: MachineConfiguration
    private var process: ChildProcess
    private var qmp: QMPClient
    private var agent: GuestAgentClient?
    /// `SHUTDOWN` events of the current QEMU process, by reason (`guest-reset`, `guest-shutdown`…).
    private var shutdownReasons: [String] = []
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
        let (process, qmp) = try await launch(configuration)
        let machine = VirtualMachine(configuration: configuration, process: process, qmp: qmp)
        await machine.watchEvents()
        return machine
    }

    /// Runs `body` with a started VM and shuts it down afterwards, whatever `body` did, unless
    /// `keepRunning` says to leave it running for debugging (then it is detached, see `detach`).
    public static func with<T: Sendable>(
        _ configuration: MachineConfiguration,
        keepRunning: @Sendable (Result<T, any Error>) -> Bool = { _ in false },
        _ body: (VirtualMachine) async throws -> T
    ) async throws -> T {
        let machine = try await start(configuration)
        let result: Result<T, any Error>
        do {
            result = .success(try await body(machine))
        } catch {
            result = .failure(error)
        }
        if case .failure(let error) = result, error is CancellationError || Task.isCancelled {
            await machine.shutdown()
        } else if keepRunning(result) {
            await machine.detach()
        } else {
            await machine.shutdown()
        }
        return try result.get()
    }

    /// Leaves QEMU running after Hallmark exits: closes Hallmark's connections, forgets the
    /// process and its run directory for teardown, and writes `run.json` so `hallmark shell`
    /// and `hallmark stop` can find it.
    public func detach() async {
        guard !stopped else { return }
        stopped = true
        if let agent { await agent.close() }
        agent = nil
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        let record = KeptMachine(pid: process.pid, runDirectory: configuration.runDirectory, name: configuration.name,
                                 consoleLog: configuration.consoleLog, keptAt: Date())
        try? record.write()
        ChildRegistry.shared.forget(process.pid)
        ChildRegistry.shared.removeDirectory(configuration.runDirectory)
    }

    private static func launch(_ configuration: MachineConfiguration) async throws -> (ChildProcess, QMPClient) {
        try? FileManager.default.removeItem(atPath: configuration.qmpSocket)
        let process = try ChildProcess.spawn(configuration.qemuCommand, outputPath: configuration.qemuLog)
        do {
            return (process, try await connectQMP(configuration, process: process))
        } catch {
            await process.terminate(grace: .seconds(2))
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
            for await event in events where event.name == "SHUTDOWN" {
                await self?.recordShutdown(event.data["reason"]?.stringValue ?? "unknown")
            }
        }
    }

    private func recordShutdown(_ reason: String) { shutdownReasons.append(reason) }

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
            if let client = try? await GuestAgentClient.connect(path: configuration.agentSocket, timeout: attempt),
               try await execIsAllowed(client, timeout: attempt) {
                agent = client
                return client
            }
            guard ContinuousClock.now < deadline else {
                throw HallmarkError.infrastructure(
                    "the guest agent (\(MachineConfiguration.agentPortName)) did not answer within \(timeout.formattedSeconds); is qemu-guest-agent installed in the image?\n\(consoleTail())")
            }
        }
    }

    /// Checks, through `guest-info`, that the agent lets Hallmark run commands: an image whose agent
    /// blocks guest-exec (qemu-ga --block-rpcs) gets a clear error instead of failing checks.
    /// Returns false (not ready yet) when the agent does not answer in time.
    private func execIsAllowed(_ client: GuestAgentClient, timeout: Duration) async throws -> Bool {
        guard let info = try? await client.info(timeout: timeout) else {
            await client.close()
            return false
        }
        let needed = ["guest-exec", "guest-exec-status", "guest-file-open", "guest-file-read"]
        let disabled = needed.filter { !info.isEnabled($0) }
        guard disabled.isEmpty else {
            await client.close()
            throw HallmarkError.infrastructure(
                "the image's guest agent (\(info.version)) has \(disabled.joined(separator: ", ")) disabled; Hallmark needs them to run checks (see qemu-ga's --block-rpcs and --allow-rpcs in the image)")
        }
        return true
    }

    /// Runs a shell command in the guest through the agent; `label` names it in errors (a whole
    /// script would be unreadable there).
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
    /// Debian 12 guest), sees the reset through QMP, powers the machine on again and waits until
    /// it answers with a new boot_id.
    public func reboot(timeout: Duration) async throws -> (before: String, after: String, seconds: Double) {
        let before = try await bootID(timeout: timeout)
        let client = try await waitForAgent(timeout: timeout)
        let start = ContinuousClock.now
        let deadline = start + timeout
        // Only start the command: its status never comes back, since the agent goes down with it.
        _ = try? await client.execute("guest-exec", arguments: ["path": "/bin/systemctl", "arg": ["reboot"]], timeout: .seconds(10))
        await client.close()
        agent = nil
        try await waitForGuestReset(until: deadline)
        try await powerOnAgain()
        let after = try await bootID(timeout: deadline - .now)
        guard after != before else {
            throw HallmarkError.infrastructure("the guest came back with the same boot_id \(before): it did not reboot")
        }
        return (before, after, (ContinuousClock.now - start).seconds)
    }

    /// Waits for QEMU to exit because the guest reset itself (`-no-reboot`), as QMP reports it.
    private func waitForGuestReset(until deadline: ContinuousClock.Instant) async throws {
        while process.reap() == nil {
            guard ContinuousClock.now < deadline else {
                throw HallmarkError.infrastructure(
                    "the guest did not reset within the timeout after `systemctl reboot` (QMP SHUTDOWN events: \(shutdownReasons.isEmpty ? "none" : shutdownReasons.joined(separator: ", "))).\n\(consoleTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        // The SHUTDOWN event is the last thing QEMU sends; give the watcher a moment to record it.
        let drain = ContinuousClock.now + .seconds(2)
        while !shutdownReasons.contains("guest-reset"), ContinuousClock.now < drain {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard shutdownReasons.contains("guest-reset") else {
            throw HallmarkError.infrastructure(
                "QEMU stopped without a guest reset (QMP SHUTDOWN events: \(shutdownReasons.isEmpty ? "none" : shutdownReasons.joined(separator: ", "))).\n\(consoleTail())")
        }
    }

    private func powerOnAgain() async throws {
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        eventWatcher = nil
        shutdownReasons = []
        (process, qmp) = try await Self.launch(configuration)
        watchEvents()
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
        if process.reap() == nil {
            _ = try? await qmp.execute("quit", timeout: .seconds(2))
            let deadline = ContinuousClock.now + .seconds(3)
            while process.reap() == nil, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        await process.terminate(grace: .seconds(3))
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        try? FileManager.default.removeItem(atPath: configuration.runDirectory)
        ChildRegistry.shared.removeDirectory(configuration.runDirectory)
    }
}
