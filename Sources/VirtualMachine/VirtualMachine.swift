import ConsoleShell
import Foundation
import GuestAgent
import GuestChannel
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
    /// The channel commands run through, once chosen (per boot: a reboot chooses again).
    private var channel: (any GuestChannel)?
    /// Kept connected while the console shell may be needed, so the guest's shell waits in read
    /// instead of reopening its port every second (see ConsoleShellGuest).
    private var shell: ConsoleShellClient?
    /// Why the channel in use was chosen, when it is not the agent; for the user and the report.
    public private(set) var channelNote: String?
    /// `SHUTDOWN` events of the current QEMU process, by reason (`guest-reset`, `guest-shutdown`…).
    private var shutdownReasons: [QMPShutdownReason] = []
    private var eventWatcher: Task<Void, Never>?
    private var lifecycle: MachineLifecycle

    public var qemuVersion: String { qmp.qemuVersion }

    private init(configuration: MachineConfiguration, process: ChildProcess, qmp: QMPClient) {
        self.configuration = configuration
        self.process = process
        self.qmp = qmp
        self.lifecycle = MachineLifecycle(name: configuration.name)
    }

    /// Where the VM is in its life; `exec` is refused once it is stopped or detached.
    public var state: MachineState { lifecycle.state }

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
        guard lifecycle.end(as: .detached) else { return }
        let kind = channel?.kind
        await closeChannels()
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        let record = KeptMachine(
            pid: process.pid, runDirectory: configuration.runDirectory, name: configuration.name,
            consoleLog: configuration.consoleLog, keptAt: Date(), channel: kind,
            processStartTime: KeptMachine.startTime(of: process.pid))
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
            if let ended = process.termination {
                let log = (try? String(contentsOfFile: configuration.qemuLog, encoding: .utf8)) ?? ""
                throw HallmarkError.infrastructure("QEMU exited at start (\(ended)):\n\(lastLines(of: log, count: 20))")
            }
            if FileManager.default.fileExists(atPath: configuration.qmpSocket),
                let qmp = try? await QMPClient.connect(path: configuration.qmpSocket, timeout: .seconds(5))
            {
                return qmp
            }
            guard ContinuousClock.now < deadline else { throw HallmarkError.infrastructure("QEMU's QMP socket never answered") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func watchEvents() {
        let events = qmp.events
        eventWatcher = Task { [weak self] in
            for await event in events {
                if case .shutdown(_, let reason) = event.typed { await self?.recordShutdown(reason) }
            }
        }
    }

    private func recordShutdown(_ reason: QMPShutdownReason) { shutdownReasons.append(reason) }

    /// The kind of the channel in use, once one answered.
    public var channelKind: GuestChannelKind? { channel?.kind }

    /// Waits until a guest channel answers and returns it: the agent when it works, else (unless the
    /// configuration forbids it) the console shell. Fails early if QEMU dies, and on timeout names
    /// what it waited for and shows the console's last 40 lines.
    public func waitForGuest(timeout: Duration) async throws -> any GuestChannel {
        try lifecycle.requireUsable(for: "commands")
        if let channel { return channel }
        let choice = configuration.channel
        let deadline = ContinuousClock.now + timeout
        var agentBlocked: String?
        var fallback = ChannelFallback(choice: choice)
        while true {
            if let ended = process.termination {
                throw HallmarkError.infrastructure("QEMU exited (\(ended)) before the guest answered.\n\(consoleTail())")
            }
            let attempt = min(Duration.seconds(2), max(deadline - .now, .milliseconds(100)))
            if choice != .agent, shell == nil { shell = try? ConsoleShellClient.connect(path: configuration.shellSocket) }
            if choice != .console, agentBlocked == nil {
                do {
                    if let agent = try await connectAgent(timeout: attempt) { return use(agent, note: nil) }
                } catch let error as HallmarkError where choice == .auto {
                    agentBlocked = error.message
                }
            }
            if choice != .agent, let shell = await connectShell(timeout: attempt) {
                let decision = await fallback.shellAnswered(agentBlocked: agentBlocked, now: .now) {
                    await agentIsMissing(shell, timeout: attempt)
                }
                if case .useShell(let note) = decision { return use(shell, note: note) }
            }
            guard ContinuousClock.now < deadline else {
                let awaited =
                    switch choice {
                    case .agent:
                        "the guest agent (\(MachineConfiguration.agentPortName)) did not answer within \(timeout.formattedSeconds); is qemu-guest-agent installed in the image?"
                    case .console: "the console shell (\(ConsoleShellGuest.portName)) did not answer within \(timeout.formattedSeconds)"
                    case .auto:
                        "neither the guest agent (\(MachineConfiguration.agentPortName)) nor the console shell (\(ConsoleShellGuest.portName)) answered within \(timeout.formattedSeconds); is qemu-guest-agent installed, and does the image honour init= (see README, guest channels)?"
                    }
                throw HallmarkError.infrastructure("\(awaited)\n\(consoleTail())")
            }
            if choice == .agent { continue }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func use(_ chosen: any GuestChannel, note: String?) -> any GuestChannel {
        channel = chosen
        channelNote = note
        lifecycle.guestAnswered()
        return chosen
    }

    /// The agent, when it answers within `timeout` and lets Hallmark run commands; nil when it
    /// does not answer yet. Throws when it answers but blocks guest-exec.
    private func connectAgent(timeout: Duration) async throws -> GuestAgentClient? {
        guard let client = try? await GuestAgentClient.connect(path: configuration.agentSocket, timeout: timeout) else { return nil }
        guard try await execIsAllowed(client, timeout: timeout) else { return nil }
        return client
    }

    /// The console shell, when it answers a ping within `timeout`. The connection is made once and
    /// kept, so the guest's shell stays blocked on it.
    private func connectShell(timeout: Duration) async -> ConsoleShellClient? {
        if shell == nil { shell = try? ConsoleShellClient.connect(path: configuration.shellSocket) }
        guard let shell else { return nil }
        do {
            try await shell.ping(timeout: min(timeout, .seconds(1)))
            return shell
        } catch ConsoleShellError.timeout {
            return nil
        } catch {
            await shell.close()
            self.shell = nil
            return nil
        }
    }

    /// Asks the shell whether the image can have a working agent: nil when qemu-ga is installed and
    /// its unit not masked (then the agent gets time to start), else the reason it cannot.
    private func agentIsMissing(_ shell: ConsoleShellClient, timeout: Duration) async -> String? {
        let probe = """
            command -v qemu-ga >/dev/null 2>&1 || { echo "the image has no qemu-guest-agent"; exit 0; }
            case $(systemctl is-enabled qemu-guest-agent.service 2>/dev/null) in masked*) echo "qemu-guest-agent.service is masked";; esac
            true
            """
        guard let result = try? await shell.exec(probe, timeout: max(timeout, .seconds(10))) else { return nil }
        let reason = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        return reason.isEmpty ? nil : reason
    }

    /// Checks, through `guest-info`, that the agent lets Hallmark run commands: an image whose agent
    /// blocks guest-exec (qemu-ga --block-rpcs) gets a clear error instead of failing checks.
    /// Returns false (not ready yet) when the agent does not answer in time.
    private func execIsAllowed(_ client: GuestAgentClient, timeout: Duration) async throws -> Bool {
        guard let info = try? await client.info(timeout: timeout) else {
            await client.close()
            return false
        }
        let needed = ["guest-exec", "guest-exec-status"]
        let disabled = needed.filter { !info.isEnabled($0) }
        guard disabled.isEmpty else {
            await client.close()
            throw HallmarkError.infrastructure(
                "the image's guest agent (\(info.version)) has \(disabled.joined(separator: ", ")) disabled (see qemu-ga's --block-rpcs and --allow-rpcs in the image)"
            )
        }
        return true
    }

    /// Runs a shell command in the guest through the chosen channel; `label` names it in errors (a
    /// whole script would be unreadable there).
    public func exec(_ command: String, stdin: [UInt8]? = nil, label: String? = nil, timeout: Duration) async throws -> ExecResult {
        try lifecycle.requireUsable(for: label ?? Self.firstLine(command))
        let channel = try await waitForGuest(timeout: timeout)
        do {
            return try await channel.exec(command, stdin: stdin, environment: [], timeout: timeout)
        } catch  where error is GuestAgentError || error is ConsoleShellError {
            throw HallmarkError.infrastructure("in the guest, \(label ?? Self.firstLine(command)): \(error)")
        }
    }

    static func firstLine(_ command: String) -> String { String(command.prefix { $0 != "\n" }.prefix(120)) }

    public func bootID(timeout: Duration) async throws -> String {
        let result = try await exec("cat /proc/sys/kernel/random/boot_id", label: "reading the guest's boot_id", timeout: timeout)
        let id = result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.succeeded, !id.isEmpty else {
            throw HallmarkError.infrastructure("reading the guest's boot_id failed: \(result.stderrText.prefix(200))")
        }
        return id
    }

    /// Asks the guest to reboot (`systemctl reboot`, through whichever channel; the agent's
    /// guest-shutdown does not reboot a Debian 12 guest), sees the reset through QMP, powers the machine on again and waits until
    /// it answers with a new boot_id.
    public func reboot(timeout: Duration) async throws -> (before: String, after: String, seconds: Double) {
        let before = try await bootID(timeout: timeout)
        let start = ContinuousClock.now
        let deadline = start + timeout
        // In the background, a second later: the channel answers before it goes down with the guest.
        _ = try? await exec("(sleep 1; systemctl reboot) </dev/null >/dev/null 2>&1 &", timeout: .seconds(10))
        try lifecycle.rebootRequested()
        await closeChannels()
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
        if await process.exited(within: max(deadline - .now, .zero)) == nil {
            try Task.checkCancellation()
            throw HallmarkError.infrastructure(
                "the guest did not reset within the timeout after `systemctl reboot` (QMP SHUTDOWN events: \(shutdownEventList)).\n\(consoleTail())"
            )
        }
        // The SHUTDOWN event is the last thing QEMU sends; give the watcher a moment to record it.
        let drain = ContinuousClock.now + .seconds(2)
        while !shutdownReasons.contains(.guestReset), ContinuousClock.now < drain {
            try await Task.sleep(for: .milliseconds(20))
        }
        guard shutdownReasons.contains(.guestReset) else {
            throw HallmarkError.infrastructure(
                "QEMU stopped without a guest reset (QMP SHUTDOWN events: \(shutdownEventList)).\n\(consoleTail())")
        }
    }

    private var shutdownEventList: String {
        shutdownReasons.isEmpty ? "none" : shutdownReasons.map(\.rawValue).joined(separator: ", ")
    }

    private func powerOnAgain() async throws {
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        eventWatcher = nil
        shutdownReasons = []
        (process, qmp) = try await Self.launch(configuration)
        lifecycle.poweredOn()
        watchEvents()
    }

    private func closeChannels() async {
        await channel?.close()
        await shell?.close()
        channel = nil
        shell = nil
    }

    /// The console's last 40 lines, for error messages.
    public func consoleTail() -> String {
        let text = (try? String(contentsOfFile: configuration.consoleLog, encoding: .utf8)) ?? ""
        return "Last lines of the serial console (\(configuration.consoleLog)):\n" + lastLines(of: text, count: 40)
    }

    /// quit → SIGTERM → SIGKILL, then removes the run directory. Idempotent. Runs to the end even
    /// when the caller is cancelled, so the guest gets its grace and no QEMU is left.
    public func shutdown() async {
        guard lifecycle.end(as: .stopped) else { return }
        await Task { await tearDown() }.value
    }

    private func tearDown() async {
        await closeChannels()
        if process.termination == nil {
            try? await qmp.quit(timeout: .seconds(2))
            _ = await process.exited(within: .seconds(3))
        }
        await process.terminate(grace: .seconds(3))
        await qmp.close()
        eventWatcher?.cancel()
        await eventWatcher?.value
        try? FileManager.default.removeItem(atPath: configuration.runDirectory)
        ChildRegistry.shared.removeDirectory(configuration.runDirectory)
    }
}
