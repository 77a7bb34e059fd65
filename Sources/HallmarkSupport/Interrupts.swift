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
        var pids: Set<pid_t> = []
        var directories: Set<String> = []
        /// Set by the teardown: a child spawned after it took its list is killed at once.
        var closed = false
    }
    private let state = Mutex(State())

    /// False once the teardown has started: the caller must kill the child it just spawned.
    func add(_ pid: pid_t) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.pids.insert(pid)
            return true
        }
    }
    func remove(_ pid: pid_t) { state.withLock { _ = $0.pids.remove(pid) } }

    /// Stops tracking a child that is meant to outlive Hallmark (a VM kept for debugging).
    public func forget(_ pid: pid_t) { remove(pid) }

    /// Registers a directory to delete if Hallmark is interrupted before its owner cleans it up.
    public func addDirectory(_ path: String) { state.withLock { _ = $0.directories.insert(path) } }
    public func removeDirectory(_ path: String) { state.withLock { _ = $0.directories.remove(path) } }

    public var livePIDs: Set<pid_t> { state.withLock { $0.pids } }

    /// Kills every registered process group (SIGTERM, then SIGKILL after `grace`) and removes the
    /// registered directories. Blocking: called from the signal handler's own queue, never from a task.
    public func tearDownEverything(grace: TimeInterval = 3) {
        let (pids, directories) = state.withLock { state in
            state.closed = true
            return (state.pids, state.directories)
        }
        for pid in pids { kill(-pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(grace)
        var remaining = pids
        while !remaining.isEmpty, Date() < deadline {
            remaining = remaining.filter { waitpid($0, nil, WNOHANG) == 0 }
            if !remaining.isEmpty { usleep(20_000) }
        }
        for pid in remaining {
            kill(-pid, SIGKILL)
            waitpid(pid, nil, 0)
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
