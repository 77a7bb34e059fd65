import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
public enum Termination: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): return "exit code \(code)"
        case .signaled(let signal): return "signal \(signal)"
        }
    }
}

/// The one owner of a child process: it runs in its own process group, so a terminal's Ctrl-C
/// reaches Hallmark only and Hallmark decides how each child is torn down; its output goes to a
/// file; its exit is awaited once, by a dedicated thread blocked in `waitpid` (never a thread of
/// the task pool), and every waiter reads that one result; `terminate(grace:)` is the only
/// SIGTERM → grace → SIGKILL sequence in Hallmark.
///
/// A process Hallmark did not start (a kept VM's QEMU, found again by `hallmark stop`) is
/// `adopt`ed: its end is then seen by polling, and every signal is sent only after checking that
/// the pid still names that process.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let command: HostCommand
    private let exit: ExitLatch
    /// Checked before every signal: false once the pid may belong to another process.
    private let mayBeSignalled: @Sendable () -> Bool

    private init(pid: pid_t, command: HostCommand, mayBeSignalled: @escaping @Sendable () -> Bool) {
        self.pid = pid
        self.command = command
        self.exit = ExitLatch()
        self.mayBeSignalled = mayBeSignalled
    }

    /// Starts the command with stdin from /dev/null and stdout/stderr appended to `outputPath`
    /// (or discarded when nil); stderr goes to `errorPath` instead when given. Output never goes
    /// to a pipe nobody reads.
    public static func spawn(_ command: HostCommand, outputPath: String?, errorPath: String? = nil) throws -> ChildProcess {
        let executable =
            command.executable.contains("/")
            ? command.executable : try HostTool(command.executable, package: command.executable).resolve()

        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, "/dev/null", O_RDONLY, 0)
        let output = outputPath ?? "/dev/null"
        posix_spawn_file_actions_addopen(&fileActions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorPath {
            posix_spawn_file_actions_addopen(&fileActions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&fileActions, 1, 2)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // Children start with default signal dispositions even though Hallmark ignores SIGINT itself.
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGINT)
        sigaddset(&defaultSignals, SIGTERM)
        sigaddset(&defaultSignals, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        // The spawning thread may block signals (test runners and thread pools do); a child must
        // not inherit that, or SIGTERM/SIGINT sent to it would stay pending forever.
        var noBlockedSignals = sigset_t()
        sigemptyset(&noBlockedSignals)
        posix_spawnattr_setsigmask(&attributes, &noBlockedSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var environment = command.inheritsEnvironment ? ProcessInfo.processInfo.environment : [:]
        for (key, value) in command.environment { environment[key] = value }
        let argv = ([executable] + command.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, envp)
        guard result == 0 else {
            throw HallmarkError(.hostFailure, "cannot start \(command.executable): \(String(cString: strerror(result)))")
        }
        // Our own child: its pid cannot be reused before the reaper has waited for it.
        let child = ChildProcess(pid: pid, command: command, mayBeSignalled: { true })
        // Registered before the reaper starts, so the reaper's removal always comes after.
        let registered = ChildRegistry.shared.add(child)
        child.startReaper()
        // An interrupt may have taken its list of children between the spawn and this line.
        guard registered else {
            child.signalGroup(SIGKILL)
            throw HallmarkError(.interrupted, "interrupted while starting \(command.executable)")
        }
        return child
    }

    /// Takes charge of a process Hallmark did not start, such as a kept VM's QEMU. `isStillTheProcess`
    /// is checked before every signal and, every 50 ms, to notice that the process has gone.
    public static func adopt(pid: pid_t, command: HostCommand, isStillTheProcess: @escaping @Sendable () -> Bool) -> ChildProcess {
        let process = ChildProcess(pid: pid, command: command, mayBeSignalled: isStillTheProcess)
        let exit = process.exit
        // Not our child, so nothing can wait for it: its end shows as the pid no longer naming it.
        Task.detached {
            while isStillTheProcess() { try? await Task.sleep(for: .milliseconds(50)) }
            exit.fulfill(.exited(-1))
        }
        return process
    }

    /// The dedicated thread that waits for the child exactly once and publishes how it ended.
    private func startReaper() {
        let (pid, exit) = (self.pid, self.exit)
        let thread = Thread { [self] in
            var status: Int32 = 0
            var result = waitpid(pid, &status, 0)
            while result < 0, errno == EINTR { result = waitpid(pid, &status, 0) }
            let termination: Termination
            if result < 0 {
                termination = .exited(-1)  // reaped elsewhere
            } else if status & 0x7f == 0 {
                termination = .exited((status >> 8) & 0xff)
            } else {
                termination = .signaled(status & 0x7f)
            }
            exit.fulfill(termination)
            ChildRegistry.shared.remove(self)
        }
        thread.name = "hallmark-reaper-\(pid)"
        // It only waits; the default 8 MiB stack would be address space for nothing.
        thread.stackSize = 256 << 10
        thread.start()
    }

    /// How the child ended, once it has; never blocks.
    public var termination: Termination? { exit.termination }

    /// Waits for the child to end. If the waiting task is cancelled, the child's group is terminated
    /// first, so a cancelled wait never leaves a process behind.
    public func wait() async -> Termination {
        if let termination = await exit.wait() { return termination }
        await terminate(grace: .seconds(2))
        return termination ?? .signaled(SIGKILL)
    }

    /// How the child ended if it does within `timeout`, else nil (also when the caller is cancelled).
    public func exited(within timeout: Duration) async -> Termination? {
        if let termination { return termination }
        let exit = self.exit
        return await withTaskGroup(of: Termination?.self) { group in
            group.addTask { await exit.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? exit.termination
        }
    }

    /// Sends a signal to the child's whole process group (unless an adopted pid no longer names it).
    public func signalGroup(_ signal: Int32) {
        guard termination == nil, mayBeSignalled() else { return }
        _ = kill(-pid, signal)
    }

    /// SIGTERM to the group, then SIGKILL after `grace`; returns once the child has ended (for an
    /// adopted process: or `killTimeout` after the SIGKILL). Runs to the end even when the caller is
    /// cancelled: the grace is the child's, not the caller's.
    public func terminate(grace: Duration, killTimeout: Duration? = nil) async {
        if termination != nil { return }
        await Task.detached { [self] in
            signalGroup(SIGTERM)
            if await exited(within: grace) != nil { return }
            signalGroup(SIGKILL)
            if let killTimeout {
                _ = await exited(within: killTimeout)
            } else {
                _ = await exit.wait()
            }
        }.value
    }
}

/// Holds how a process ended, set once, and wakes everyone waiting for it.
final class ExitLatch: Sendable {
    private struct State {
        var termination: Termination?
        var waiters: [Int: CheckedContinuation<Termination?, Never>] = [:]
        var nextWaiter = 0
    }
    private let state = Mutex(State())

    var termination: Termination? { state.withLock { $0.termination } }

    /// Records the end (the first call wins) and resumes every waiter.
    func fulfill(_ termination: Termination) {
        let waiters = state.withLock { state -> [CheckedContinuation<Termination?, Never>] in
            guard state.termination == nil else { return [] }
            state.termination = termination
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: termination) }
    }

    /// Suspends until the end is known; nil when the waiting task is cancelled first.
    func wait() async -> Termination? {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Termination?, Never>) in
                let ready = state.withLock { state -> Termination?? in
                    if let termination = state.termination { return .some(termination) }
                    // Checked under the lock: either onCancel runs after we park, or we see the flag here.
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
