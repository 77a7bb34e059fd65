import Foundation
import HallmarkSupport

/// Runs component steps in a chroot of the rootfs. Each step gets a private mount namespace
/// (`unshare --mount`) holding /proc, /sys and /dev, so the mounts vanish with the step even if
/// Hallmark is killed: nothing is ever left mounted on the host.
public struct ChrootExecutor: StepExecutor {
    public var root: String
    public var logPath: String

    public init(root: String, logPath: String) {
        self.root = root
        self.logPath = logPath
    }

    static let scriptPath = "/tmp/.hallmark-step.sh"
    static let stderrPath = "/tmp/.hallmark-step.err"

    /// The host command that enters the chroot; an argv value so it can be unit-tested.
    public static func command(root: String) -> HostCommand {
        let inner = """
            set -e
            mount -t proc proc "$1/proc"
            mount -t sysfs sysfs "$1/sys"
            mount --rbind /dev "$1/dev"
            exec chroot "$1" /bin/bash \(scriptPath) 2>"$1\(stderrPath)"
            """
        return HostCommand("unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", inner, "hallmark-chroot", root],
                           environment: ["DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    public func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
        try bashScript.write(toFile: root + Self.scriptPath, atomically: true, encoding: .utf8)
        let stdoutPath = root + "/tmp/.hallmark-step.out"
        defer {
            for path in [Self.scriptPath, Self.stderrPath, "/tmp/.hallmark-step.out"] { try? FileManager.default.removeItem(atPath: root + path) }
        }
        let child = try ChildProcess.spawn(Self.command(root: root), outputPath: stdoutPath)
        let termination = try await withDeadline(timeout, onTimeout: { await child.terminate(grace: .seconds(5)) }) {
            await child.wait()
        }
        let stdout = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: root + Self.stderrPath, encoding: .utf8)) ?? ""
        guard let termination else {
            return StepOutput(exitCode: 124, stdout: stdout, stderr: stderr + "\nstep timed out after \(timeout.formattedSeconds)")
        }
        switch termination {
        case .exited(let code): return StepOutput(exitCode: code, stdout: stdout, stderr: stderr)
        case .signaled(let signal): return StepOutput(exitCode: 128 + signal, stdout: stdout, stderr: stderr)
        }
    }

    /// A chroot has no kernel to restart; TOE's reboot request just reruns the step.
    public func reboot() async throws {}
}
