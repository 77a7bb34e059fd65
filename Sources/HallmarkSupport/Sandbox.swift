import Foundation

/// A program of an untrusted root filesystem (an image's collector, a component's build step) run
/// by `hallmark-sandbox` in new mount, PID, IPC and UTS namespaces (and network, unless asked
/// for): the root becomes the only filesystem it can reach, every process it starts ends with it,
/// and it keeps only the capabilities and the environment given here. A value, so its argv can be
/// unit-tested.
public struct Sandbox: Sendable, Equatable {
    /// A host file brought into the sandbox at an absolute path inside it.
    public struct HostFile: Sendable, Equatable {
        public var host: String
        public var path: String

        public init(host: String, path: String) {
            self.host = host
            self.path = path
        }
    }

    /// How the root gets mounted before the change of root.
    public enum RootMount: Sendable, Equatable {
        /// A directory bound onto itself, read-write (a build's tree).
        case directory
        /// A directory bound read-only, nosuid, nodev (an unpacked tree to read).
        case readOnlyDirectory
        /// An ext4 disk image (raw, no partition table) loop-mounted read-only, nosuid, nodev, no journal replay.
        case ext4Disk(String)
    }

    public var root: String
    public var rootMount: RootMount
    /// A fresh /dev (its own device nodes), /proc of the new PID namespace, read-only /sys, tmpfs /run.
    public var dev = true
    public var proc = false
    public var sys = false
    public var run = false
    /// Created mode 1777 after the mounts, for scratch files.
    public var temporaryDirectory: String?
    public var copyIn: [HostFile] = []
    /// A host file given to the program as its standard input (it is in no argv and no file of the sandbox).
    public var standardInput: String?
    /// Bound read-only over a file of the tree, which keeps its own bytes.
    public var bindReadOnly: [HostFile] = []
    /// Capability names as `capabilities(7)` spells them without `CAP_`, lower case.
    public var capabilities: [String] = []
    /// The program's whole environment.
    public var environment: [String: String] = [:]
    /// Shares the host's network; otherwise the sandbox has its own, with no interface up.
    public var network = false
    public var workingDirectory = "/"
    public var program: [String]

    public init(root: String, rootMount: RootMount, program: [String]) {
        self.root = root
        self.rootMount = rootMount
        self.program = program
    }

    /// Capabilities a package manager needs to install into a tree as root; none of them lets a
    /// process mount, load modules, make device nodes, trace, open files by handle or change the
    /// host's network (the set container engines grant builds, less mknod and net_raw).
    public static let buildCapabilities = [
        "chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
        "net_bind_service", "sys_chroot", "audit_write", "setfcap",
    ]

    /// The command that runs it, with `helper` the path of `hallmark-sandbox`.
    public func command(helper: String) -> HostCommand {
        var options: [String] = []
        switch rootMount {
        case .directory: options.append("--bind-self")
        case .readOnlyDirectory: options += ["--bind-self", "--read-only"]
        case .ext4Disk: break
        }
        if dev { options.append("--dev") }
        if proc { options.append("--proc") }
        if sys { options.append("--sys") }
        if run { options.append("--run") }
        if let temporaryDirectory { options += ["--tmpdir", temporaryDirectory] }
        for file in copyIn { options += ["--copy-in", file.host + ":" + file.path] }
        if let standardInput { options += ["--stdin", standardInput] }
        for file in bindReadOnly { options += ["--bind-ro", file.host + ":" + file.path] }
        for capability in capabilities { options += ["--keep-cap", capability] }
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) { options += ["--env", "\(name)=\(value)"] }
        options += ["--chdir", workingDirectory]
        let sandboxed = [helper] + options + [root, "--"] + program

        var namespaces = ["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--ipc", "--uts"]
        if !network { namespaces.append("--net") }
        guard case .ext4Disk(let disk) = rootMount else {
            return HostCommand(
                "unshare", namespaces + ["--"] + sandboxed, environment: Self.hostToolsEnvironment, inheritsEnvironment: false)
        }
        // The loop device goes with the namespace's last mount: nothing stays attached however the run ends.
        let mountDisk = #"set -e; mount -t ext4 -o loop,ro,noload,nosuid,nodev -- "$1" "$2"; shift 2; exec "$@""#
        return HostCommand(
            "unshare", namespaces + ["--", "/bin/sh", "-c", mountDisk, "hallmark-mount", disk, root] + sandboxed,
            environment: Self.hostToolsEnvironment, inheritsEnvironment: false)
    }

    /// What unshare and mount get: the user's PATH (they are the host's tools), and nothing else of
    /// Hallmark's environment (tokens, keys, agent sockets).
    static var hostToolsEnvironment: [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LC_ALL": "C",
        ]
    }

    /// `hallmark-sandbox`, built beside the binary that is running (hallmark, or the test runner).
    public static func helperPath() throws -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let candidate = ((executable as NSString).deletingLastPathComponent as NSString).appendingPathComponent("hallmark-sandbox")
        guard access(candidate, X_OK) == 0 else {
            throw HallmarkError(.missingTool, "\(candidate) is missing: it is built with hallmark (swift build builds both)")
        }
        return candidate
    }
}
