import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An external program invocation as a value, so an argv can be built and unit-tested without running it.
public struct HostCommand: Sendable, Equatable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    /// Variables added to (or overriding) Hallmark's own environment.
    public var environment: [String: String]
    /// When false, `environment` is the whole environment: nothing of Hallmark's own is passed on.
    public var inheritsEnvironment: Bool

    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String] = [:], inheritsEnvironment: Bool = true) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.inheritsEnvironment = inheritsEnvironment
    }

    public var argv: [String] { [executable] + arguments }

    /// The command as a user could paste it into a shell.
    public var description: String { argv.map(shellQuoted).joined(separator: " ") }
}

/// Quotes a word for POSIX sh only when it needs quoting.
public func shellQuoted(_ word: String) -> String {
    if !word.isEmpty, word.utf8.allSatisfy({ shellSafeBytes[Int($0)] }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// The bytes a word may hold unquoted; a table, because evaluation quotes a path for every control.
private let shellSafeBytes: [Bool] = (0..<256).map { byte in
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%".utf8.contains(UInt8(byte))
}

/// A host tool Hallmark needs, with the Debian package that provides it.
public struct HostTool: Sendable {
    public var name: String
    public var debianPackage: String

    public init(_ name: String, package: String) {
        self.name = name
        self.debianPackage = package
    }

    public static let qemu = HostTool("qemu-system-x86_64", package: "qemu-system-x86")
    public static let qemuImg = HostTool("qemu-img", package: "qemu-utils")
    public static let mmdebstrap = HostTool("mmdebstrap", package: "mmdebstrap")
    public static let mkfsExt4 = HostTool("mkfs.ext4", package: "e2fsprogs")
    public static let unshare = HostTool("unshare", package: "util-linux")
    public static let tar = HostTool("tar", package: "tar")
    public static let mount = HostTool("mount", package: "mount")
    public static let chroot = HostTool("chroot", package: "coreutils")
    public static let timeout = HostTool("timeout", package: "coreutils")
    public static let nice = HostTool("nice", package: "coreutils")
    public static let setpriv = HostTool("setpriv", package: "util-linux")

    /// The absolute path of the tool, or a missing-dependency error naming the package to install.
    public func resolve() throws -> String {
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let directories = searchPath.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        for directory in directories {
            let candidate = directory + "/" + name
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw HallmarkError(
            .missingTool,
            "\(name) is not installed; install it with: apt-get install \(debianPackage)")
    }
}

/// What a command printed and its exit code: a component step, a fact probe.
public struct CommandOutput: Codable, Sendable, Equatable {
    public var exitCode: Int32
    public var stdout: String
    public var stderr: String

    public init(exitCode: Int32, stdout: String, stderr: String) {
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
    }
}

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

/// A child process in its own process group, so a terminal's Ctrl-C reaches Hallmark only and
/// Hallmark decides how each child is torn down.
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let command: HostCommand

    private init(pid: pid_t, command: HostCommand) {
        self.pid = pid
        self.command = command
    }

    /// Starts the command with stdin from /dev/null and stdout/stderr appended to `outputPath`
    /// (or discarded when nil); stderr goes to `errorPath` instead when given. Output never goes
    /// to a pipe nobody reads.
    public static func spawn(_ command: HostCommand, outputPath: String?, errorPath: String? = nil) throws -> ChildProcess {
        let executable = command.executable.contains("/")
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
        // An interrupt may have taken its list of children between the spawn and this line.
        guard ChildRegistry.shared.add(pid) else {
            kill(-pid, SIGKILL)
            waitpid(pid, nil, 0)
            throw HallmarkError(.interrupted, "interrupted while starting \(command.executable)")
        }
        return ChildProcess(pid: pid, command: command)
    }

    /// Waits for the child to end. If the waiting task is cancelled, the child's group is killed first,
    /// so a cancelled wait never leaves a process behind.
    public func wait() async -> Termination {
        while true {
            if let termination = reap() { return termination }
            if Task.isCancelled {
                await terminate(grace: .seconds(2))
                return reap() ?? .signaled(SIGKILL)
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
    }

    /// Non-blocking check; returns how the child ended once it has.
    public func reap() -> Termination? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        if result == 0 { return nil }
        ChildRegistry.shared.remove(pid)
        if result < 0 { return .exited(-1) }  // already reaped elsewhere
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }

    /// Sends a signal to the child's whole process group.
    public func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// SIGTERM to the group, then SIGKILL after `grace`; returns once the child is reaped.
    public func terminate(grace: Duration) async {
        if reap() != nil { return }
        signalGroup(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if reap() != nil { return }
            try? await Task.sleep(for: .milliseconds(25))
        }
        signalGroup(SIGKILL)
        while reap() == nil { usleep(10_000) }
    }
}

extension HostCommand {
    /// Runs to completion with output appended to `logPath`; throws with the log's tail on failure.
    public func run(logPath: String? = nil, failure: HallmarkError.Code = .hostFailure) async throws {
        let log = logPath ?? FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-\(UUID().uuidString).log").path
        defer { if logPath == nil { try? FileManager.default.removeItem(atPath: log) } }
        let child = try ChildProcess.spawn(self, outputPath: log)
        let termination = await child.wait()
        try Task.checkCancellation()
        guard termination.succeeded else {
            let tail = (try? String(contentsOfFile: log, encoding: .utf8)).map { lastLines(of: $0, count: 20) } ?? ""
            throw HallmarkError(failure, "\(executable) failed (\(termination)): \(description)\n\(tail)")
        }
    }

    /// Runs to completion and returns stdout and stderr together; throws on a non-zero exit.
    public func output() async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let child = try ChildProcess.spawn(self, outputPath: path)
        let termination = await child.wait()
        try Task.checkCancellation()
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        guard termination.succeeded else {
            throw HallmarkError(.hostFailure, "\(executable) failed (\(termination)): \(description)\n\(lastLines(of: text, count: 20))")
        }
        return text
    }
}

/// The last `count` lines of a text, for error messages that show a log's tail.
public func lastLines(of text: String, count: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
}
