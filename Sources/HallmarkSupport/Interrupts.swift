import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Every child process group and run directory that must not outlive Hallmark.
public final class ChildRegistry: Sendable {
    public static let shared = ChildRegistry()

    private struct State {
        var children: [pid_t: ChildProcess] = [:]
        var directories: Set<String> = []
        /// Set by the teardown: a child spawned after it took its list is killed at once.
        var closed = false
    }
    private let state = Mutex(State())

    /// False once the teardown has started: the caller must kill the child it just spawned.
    func add(_ child: ChildProcess) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.children[child.pid] = child
            return true
        }
    }

    /// Tracks a bare pid (a process started elsewhere): adopted, so the teardown terminates it too.
    func add(_ pid: pid_t) -> Bool {
        add(ChildProcess.adopt(pid: pid, command: HostCommand("pid \(pid)"), isStillTheProcess: { kill(pid, 0) == 0 }))
    }

    /// Stops tracking `child`; a later child that reuses its pid stays tracked.
    func remove(_ child: ChildProcess) {
        state.withLock { state in
            if state.children[child.pid] === child { state.children[child.pid] = nil }
        }
    }
    /// Stops tracking a child that is meant to outlive Hallmark (a VM kept for debugging).
    public func forget(_ pid: pid_t) { state.withLock { _ = $0.children.removeValue(forKey: pid) } }

    /// Registers a directory to delete if Hallmark is interrupted before its owner cleans it up.
    public func addDirectory(_ path: String) { state.withLock { _ = $0.directories.insert(path) } }
    public func removeDirectory(_ path: String) { state.withLock { _ = $0.directories.remove(path) } }

    public var livePIDs: Set<pid_t> { state.withLock { Set($0.children.keys) } }

    /// Terminates every registered child (each owner's `terminate(grace:)`, all at once) and removes
    /// the registered directories. Blocking: called from the signal handler's own queue, never from a task.
    public func tearDownEverything(grace: TimeInterval = 3) {
        let (children, directories) = state.withLock { state in
            state.closed = true
            return (Array(state.children.values), state.directories)
        }
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            await withTaskGroup(of: Void.self) { group in
                for child in children { group.addTask { await child.terminate(grace: .seconds(grace)) } }
            }
            finished.signal()
        }
        // Should the task pool be stuck (a blocked thread), the groups still die before Hallmark exits.
        if finished.wait(timeout: .now() + grace + 5) == .timedOut {
            for child in children { child.signalGroup(SIGKILL) }
        }
        for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
    }
}

/// Turns SIGINT and SIGTERM into an orderly stop: every VM and helper process is torn down, run
/// directories are removed, and Hallmark exits 130 or 143.
public enum InterruptHandler {
    private static let sources = Mutex<[DispatchSourceSignal]>([])
    private static let interrupted = Atomic<Bool>(false)

    /// True once SIGINT or SIGTERM arrived; the handler is then tearing down and will exit.
    public static var isInterrupted: Bool { interrupted.load(ordering: .acquiring) }

    /// Called by the main flow when it ends: after an interrupt, its errors are side effects of
    /// the teardown, so it waits for the handler to exit with 130/143 instead of reporting them.
    public static func waitIfInterrupted() async {
        while isInterrupted { try? await Task.sleep(for: .seconds(1)) }
    }

    public static func install() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            // A parent may have started Hallmark with these signals blocked; they must reach it.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, SIGINT)
            sigaddset(&signals, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            // A reader that goes away (`hallmark test | head`, a killed CI step) must not kill
            // Hallmark with SIGPIPE before it has stopped its VMs: writes fail instead.
            signal(SIGPIPE, SIG_IGN)
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler {
                    guard !interrupted.exchange(true, ordering: .acquiringAndReleasing) else { return }
                    writeStandardError("\nhallmark: \(signalNumber == SIGINT ? "interrupted" : "terminated"); stopping every VM\n")
                    ChildRegistry.shared.tearDownEverything()
                    exit(128 + signalNumber)  // the shell's convention: 130, 143
                }
                source.resume()
                sources.append(source)
            }
        }
    }
}
