import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import ImageBuild

/// `hallmark-sandbox` against a hostile program that tries the chroot escape: it must reach
/// nothing of the host in either profile, while plain chroot (what collectors and steps used to
/// run in) lets the same program write on the host.
@Suite(.enabled(if: getuid() == 0, "needs root (mounts, namespaces)"), .tags(.root))
struct SandboxTests {
    let scratch: String
    let marker: String
    let secret: String
    let tree: String

    init() async throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("sandbox-\(UUID().uuidString.prefix(8))").path
        marker = "/tmp/hallmark-escape-marker-\(UUID().uuidString.prefix(8))"
        secret = scratch + "/signing.key"
        tree = scratch + "/tree"
        for directory in ["bin", "dev", "run", "proc", "sys", "tmp", "mnt", "etc"] {
            try FileManager.default.createDirectory(atPath: tree + "/" + directory, withIntermediateDirectories: true)
        }
        try "SECRET-\(UUID().uuidString)".write(toFile: secret, atomically: true, encoding: .utf8)
        chmod(secret, 0o600)
        let source = Repository.fixture("hostile/escape.c")
        try await HostCommand(
            "gcc", ["-static", "-O1", "-DMARKER=\"\(marker)\"", "-DSECRET=\"\(secret)\"", "-o", tree + "/bin/sh", source]
        ).run()
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: scratch)
        try? FileManager.default.removeItem(atPath: marker)
    }

    func run(_ sandbox: Sandbox) async throws -> String {
        try await sandbox.command(helper: try Sandbox.helperPath()).output()
    }

    @Test func readingProfileReachesNothingOfTheHost() async throws {
        defer { cleanUp() }
        var sandbox = Sandbox(root: tree, rootMount: .readOnlyDirectory, program: ["/bin/sh"])
        sandbox.run = true
        sandbox.capabilities = ["dac_override"]
        let output = try await run(sandbox)
        #expect(output.contains("chroot back: Operation not permitted"), "\(output)")
        #expect(output.contains("mount: Operation not permitted"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!output.contains("SECRET-"), "\(output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tree + "/tmp").isEmpty)
    }

    @Test func buildProfileEscapesOnlyIntoTheTree() async throws {
        defer { cleanUp() }
        var sandbox = Sandbox(root: tree, rootMount: .directory, program: ["/bin/sh"])
        sandbox.proc = true
        sandbox.sys = true
        sandbox.run = true
        sandbox.capabilities = Sandbox.buildCapabilities
        let output = try await run(sandbox)
        // The build keeps sys_chroot, and the escape "works": it lands on the tree's own root.
        #expect(output.contains("chroot back: ok"), "\(output)")
        #expect(output.contains("marker: ok"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: tree + marker))
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!output.contains("SECRET-"), "\(output)")
        #expect(output.contains("mount: Operation not permitted"), "\(output)")
        #expect(output.contains("mknod: Operation not permitted"), "\(output)")
    }

    /// The control: the same program under chroot(8) writes on the host, so the tests above can
    /// fail. In a mount namespace of its own, so the tmpfs it then mounts on /mnt stays off the host.
    @Test func plainChrootLetsTheSameProgramOut() async throws {
        defer { cleanUp() }
        let output = try await HostCommand("unshare", ["--mount", "--propagation", "private", "--", "chroot", tree, "/bin/sh"]).output()
        #expect(output.contains("marker: ok"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: marker))
        #expect(output.contains("SECRET-"), "\(output)")
    }

    /// A host file is lent read-only for the program's lifetime; the tree keeps its own bytes, or none.
    @Test(arguments: [nil, "nameserver 192.0.2.1\n"])
    func hostFileIsLentReadOnly(treeOwn: String?) async throws {
        defer { cleanUp() }
        let reader = scratch + "/reader.c"
        try #"""
        #include <fcntl.h>
        #include <stdio.h>
        int main(void) {
            char line[128] = {0};
            FILE *file = fopen("/etc/resolv.conf", "r");
            if (file && fgets(line, sizeof line, file)) printf("read: %s", line);
            printf("write: %s\n", open("/etc/resolv.conf", O_WRONLY) < 0 ? "refused" : "ok");
            return 0;
        }
        """#.write(toFile: reader, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: tree + "/bin/sh")
        try await HostCommand("gcc", ["-static", "-O1", "-o", tree + "/bin/sh", reader]).run()
        let lent = scratch + "/resolv.conf"
        try "nameserver 127.0.0.53\n".write(toFile: lent, atomically: true, encoding: .utf8)
        if let treeOwn { try treeOwn.write(toFile: tree + "/etc/resolv.conf", atomically: true, encoding: .utf8) }

        var sandbox = Sandbox(root: tree, rootMount: .directory, program: ["/bin/sh"])
        sandbox.bindReadOnly = [.init(host: lent, path: "/etc/resolv.conf")]
        sandbox.capabilities = Sandbox.buildCapabilities
        let output = try await run(sandbox)
        #expect(output.contains("read: nameserver 127.0.0.53"), "\(output)")
        #expect(output.contains("write: refused"), "\(output)")
        if let treeOwn {
            #expect(try String(contentsOfFile: tree + "/etc/resolv.conf", encoding: .utf8) == treeOwn)
        } else {
            #expect(!FileManager.default.fileExists(atPath: tree + "/etc/resolv.conf"))
        }
    }

    @Test func programGetsOnlyTheEnvironmentGiven() async throws {
        defer { cleanUp() }
        let printer = scratch + "/env.c"
        try #"""
        #include <stdio.h>
        extern char **environ;
        int main(void) { for (char **v = environ; *v; v++) printf("%s\n", *v); return 0; }
        """#.write(toFile: printer, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: tree + "/bin/sh")
        try await HostCommand("gcc", ["-static", "-O1", "-o", tree + "/bin/sh", printer]).run()
        var sandbox = Sandbox(root: tree, rootMount: .directory, program: ["/bin/sh"])
        sandbox.environment = ["A": "1"]
        setenv("HALLMARK_SIGNING_KEY", secret, 1)
        defer { unsetenv("HALLMARK_SIGNING_KEY") }
        let output = try await run(sandbox)
        #expect(output == "A=1\n")
    }
}
