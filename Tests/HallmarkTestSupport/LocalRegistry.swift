import Foundation
import HallmarkSupport

/// Debian's docker-registry (distribution 2.8, no referrers API) on 127.0.0.1, optionally with a login, storing in a
/// temporary directory; `stop()` ends it and removes the storage.
public final class LocalRegistry: Sendable {
    public let host: String
    let process: ChildProcess
    let directory: String

    /// With `login`, the registry asks for it (htpasswd, bcrypt), as a registry on the network would.
    public init(login: (user: String, password: String)? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = try await HostCommand(
            "python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
        ).output().trimmingCharacters(in: .whitespacesAndNewlines)
        host = "127.0.0.1:\(port)"
        var config = """
            version: 0.1
            log: {level: warn}
            storage: {filesystem: {rootdirectory: \(directory)/storage}, delete: {enabled: true}}
            http: {addr: "\(host)"}

            """
        if let login {
            let line = try await HostCommand("htpasswd", ["-Bbn", login.user, login.password]).output()
            try line.write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
            config += "auth: {htpasswd: {realm: hallmark-test, path: \(directory)/htpasswd}}\n"
        }
        try config.write(toFile: directory + "/config.yml", atomically: true, encoding: .utf8)
        process = try ChildProcess.spawn(
            HostCommand("docker-registry", ["serve", directory + "/config.yml"]), outputPath: directory + "/registry.log")
        for _ in 0..<100 {
            let status = try? await HostCommand(
                "curl", ["--silent", "--output", "/dev/null", "--write-out", "%{http_code}", "http://\(host)/v2/"]
            ).output()
            if status == "200" || status == "401" { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        await stop()
        throw HallmarkError(.hostFailure, "docker-registry did not start on \(host)")
    }

    public func stop() async {
        await process.terminate(grace: .seconds(5))
        try? FileManager.default.removeItem(atPath: directory)
    }
}
