import Foundation
import HallmarkSupport

/// Runs component steps inside the image's tree during the build, fenced by `hallmark-sandbox`:
/// the tree becomes the step's only filesystem (no chroot escape, link or file handle leads out),
/// with its own /dev, /proc (kernel tunables read-only), read-only /sys and a tmpfs /run; the
/// step runs in new PID, IPC and UTS namespaces, so every process it starts ends with it; it keeps
/// only the capabilities installing packages needs and gets a clean environment. The network is
/// the host's unless the recipe says `build: {network: false}`.
public struct ChrootExecutor: StepExecutor {
    public var root: String
    /// A directory outside the tree for the step's script and output.
    public var scratch: String
    public var network: Bool
    /// The recipe's `build.environment`.
    public var environment: [String: String]

    public init(root: String, scratch: String, network: Bool = true, environment: [String: String] = [:]) {
        self.root = root
        self.scratch = scratch
        self.network = network
        self.environment = environment
    }

    /// Where the script is inside the sandbox: on its tmpfs /run, so nothing is written into the tree.
    static let scriptPath = "/run/hallmark-step.sh"

    /// Every variable a step sees.
    var stepEnvironment: [String: String] {
        environment.merging([
            "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8", "HOME": "/root",
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ]) { _, fixed in fixed }
    }

    /// The sandbox a step runs in; a value so it can be unit-tested.
    public func sandbox(script: String, files: [Sandbox.HostFile] = []) -> Sandbox {
        var sandbox = Sandbox(root: root, rootMount: .directory, program: ["/bin/bash", Self.scriptPath])
        sandbox.proc = true
        sandbox.sys = true
        sandbox.run = true
        sandbox.copyIn = [.init(host: script, path: Self.scriptPath)] + files
        // apt needs name resolution; the host's is lent for the step, never written into the tree.
        if network { sandbox.bindReadOnly = [.init(host: "/etc/resolv.conf", path: "/etc/resolv.conf")] }
        sandbox.network = network
        sandbox.capabilities = Sandbox.buildCapabilities
        sandbox.environment = stepEnvironment
        return sandbox
    }

    public func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
        try await run(bashScript: bashScript, timeout: timeout, files: [])
    }

    public var downloadRefusal: String? {
        network ? nil : "is not downloaded: the recipe says build: {network: false}"
    }

    /// Where a downloaded file waits inside the sandbox, on its tmpfs /run, before it is placed.
    static let downloadPath = "/run/hallmark-download"

    /// The file is lent to the step's sandbox and copied from there, so its destination is
    /// resolved inside the tree as every other path of a step is.
    public func place(file: String, at path: String, overwrite: Bool, timeout: Duration) async throws -> StepOutput {
        try await run(
            bashScript: WebDownload.placeScript(from: Self.downloadPath, to: path, overwrite: overwrite), timeout: timeout,
            files: [.init(host: file, path: Self.downloadPath)])
    }

    /// The file's bytes go from the sandbox's standard output straight into `file`: whatever its
    /// size, nothing of it is held in memory, and the path resolves in the tree, not the host.
    public func copyOut(_ path: String, to file: String, timeout: Duration) async throws -> StepOutput {
        try await run(bashScript: "exec cat -- \(shellQuoted(path))\n", timeout: timeout, files: [], stdoutTo: file)
    }

    /// Runs the script in the sandbox; with `stdoutTo` its standard output goes to that host file
    /// and the result's `stdout` is empty.
    func run(bashScript: String, timeout: Duration, files: [Sandbox.HostFile], stdoutTo: String? = nil) async throws -> StepOutput {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let script = scratch + "/step.sh", stdoutPath = stdoutTo ?? scratch + "/step.out", stderrPath = scratch + "/step.err"
        let ownFiles = stdoutTo == nil ? [script, stdoutPath, stderrPath] : [script, stderrPath]
        for path in ownFiles { try? FileManager.default.removeItem(atPath: path) }
        defer { for path in ownFiles { try? FileManager.default.removeItem(atPath: path) } }
        try bashScript.write(toFile: script, atomically: true, encoding: .utf8)
        let command = sandbox(script: script, files: files).command(helper: try Sandbox.helperPath())
        let child = try ChildProcess.spawn(command, outputPath: stdoutPath, errorPath: stderrPath)
        let termination = try await withDeadline(timeout, onTimeout: { await child.terminate(grace: .seconds(5)) }) {
            await child.wait()
        }
        let stdout = stdoutTo != nil ? "" : (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
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

    public var rebootNote: String? {
        "the build runs in a chroot, which cannot reboot: the document continues without one (services it expects after a reboot are not started)"
    }

    /// A path whose way goes through a symbolic link that leads out of the tree is refused,
    /// though the sandbox would resolve it inside: what the step meant is not what it wrote.
    public func refusal(ofPath path: String) -> String? {
        TreeFiles(root: root).escape(of: path)
    }
}
