import Foundation
import HallmarkModel
import HallmarkSupport

/// Bootstrapped Debian parents as tarballs, keyed by the digest of everything that shapes them,
/// so the same parent is bootstrapped once and reused by every build that asks for it.
public struct ParentCache: Sendable {
    public var directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public static func key(for parent: Recipe.DebianParent) -> String {
        let identity = [
            "suite=\(parent.suite)", "variant=\(parent.variant)", "mirror=\(parent.mirror ?? "default")",
            "packages=\(Set(parent.packages).sorted().joined(separator: ","))", "arch=amd64",
            // Parents cached before the host's copies were dropped must not be reused.
            "host-files=dropped",
        ].joined(separator: "\n")
        return Digest.sha256(identity)
    }

    public static func mmdebstrapCommand(for parent: Recipe.DebianParent, output: String) -> HostCommand {
        var arguments = ["--variant=\(parent.variant)", "--format=tar", "--architectures=amd64"]
        let packages = Set(parent.packages).sorted()
        if !packages.isEmpty { arguments.append("--include=\(packages.joined(separator: ","))") }
        arguments += dropHostFilesHooks
        // The loader has validated suite and mirror; `--` keeps them positional regardless.
        arguments += ["--", parent.suite, output]
        if let mirror = parent.mirror { arguments.append(mirror) }
        return HostCommand("mmdebstrap", arguments)
    }

    /// mmdebstrap copies the host's /etc/resolv.conf and /etc/hostname into the tree for the
    /// bootstrap; the image must not ship the builder's nameservers. A file a package wrote
    /// differs from the host's and stays; the hostname is the recipe's (written before the components).
    static let dropHostFilesHooks = [
        #"--customize-hook=if cmp -s /etc/resolv.conf "$1/etc/resolv.conf"; then rm -f "$1/etc/resolv.conf"; fi"#,
        #"--customize-hook=if cmp -s /etc/hostname "$1/etc/hostname"; then rm -f "$1/etc/hostname"; fi"#,
    ]

    /// The cached tarball, bootstrapping it first if needed. Written to a temporary name and
    /// renamed, so an interrupted bootstrap never leaves a truncated parent in the cache.
    public func tarball(for parent: Recipe.DebianParent, log: BuildLog) async throws -> (path: String, cached: Bool) {
        // Concurrent builds (`--jobs`) of the same parent bootstrap it once and share it; the
        // gate orders this process's tasks, the lock file other Hallmark processes.
        try await BootstrapGate.shared.serialize(key: Self.key(for: parent)) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let lock = try await FileLock.acquire(directory + "/\(Self.key(for: parent)).lock") {
                log.write("parent: waiting for another Hallmark process bootstrapping the same parent")
            }
            defer { lock.release() }
            return try await bootstrapIfMissing(parent, log: log)
        }
    }

    private func bootstrapIfMissing(_ parent: Recipe.DebianParent, log: BuildLog) async throws -> (path: String, cached: Bool) {
        let path = directory + "/\(Self.key(for: parent)).tar"
        if FileManager.default.fileExists(atPath: path) {
            log.write("parent: reusing cached \(path)")
            return (path, true)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let partial = path + ".partial-\(UUID().uuidString.prefix(8))"
        ChildRegistry.shared.addDirectory(partial)
        defer {
            try? FileManager.default.removeItem(atPath: partial)
            ChildRegistry.shared.removeDirectory(partial)
        }
        let command = Self.mmdebstrapCommand(for: parent, output: partial)
        log.write("parent: \(command)")
        try await command.run(logPath: log.path)
        try FileManager.default.moveItem(atPath: partial, toPath: path)
        return (path, false)
    }
}

/// Runs one bootstrap per parent key at a time within this process.
actor BootstrapGate {
    static let shared = BootstrapGate()
    private var running: [String: Task<Void, Never>] = [:]

    func serialize<T: Sendable>(key: String, _ body: @Sendable () async throws -> T) async throws -> T {
        while let previous = running[key] { await previous.value }
        let (done, finish) = AsyncStream<Void>.makeStream()
        running[key] = Task { for await _ in done {} }
        defer {
            finish.finish()
            running[key] = nil
        }
        return try await body()
    }
}
