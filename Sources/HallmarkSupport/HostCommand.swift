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
    public static let rsync = HostTool("rsync", package: "rsync")
    public static let mount = HostTool("mount", package: "mount")
    public static let chroot = HostTool("chroot", package: "coreutils")
    public static let timeout = HostTool("timeout", package: "coreutils")
    public static let nice = HostTool("nice", package: "coreutils")
    public static let setpriv = HostTool("setpriv", package: "util-linux")
    public static let gzip = HostTool("gzip", package: "gzip")

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

extension HostCommand {
    /// Runs to completion with output appended to `logPath`; throws with the log's tail on failure.
    public func run(logPath: String? = nil) async throws {
        let log = try logPath ?? HallmarkHome.fromEnvironment().temporaryFile(suffix: ".log")
        defer { if logPath == nil { try? FileManager.default.removeItem(atPath: log) } }
        let child = try ChildProcess.spawn(self, outputPath: log)
        let termination = await child.wait()
        try Task.checkCancellation()
        guard termination.succeeded else {
            let tail = (try? String(contentsOfFile: log, encoding: .utf8)).map { lastLines(of: $0, count: 20) } ?? ""
            throw HallmarkError(.hostFailure, "\(executable) failed (\(termination)): \(description)\n\(tail)")
        }
    }

    /// Runs to completion and returns stdout and stderr together; throws on a non-zero exit.
    public func output() async throws -> String {
        let path = try HallmarkHome.fromEnvironment().temporaryFile(suffix: ".out")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await run(logPath: path)
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}

/// The last `count` lines of a text, for error messages that show a log's tail.
public func lastLines(of text: String, count: Int) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
}
