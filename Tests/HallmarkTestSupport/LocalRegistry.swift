import Foundation
import HallmarkSupport

/// Debian's docker-registry (distribution 2.8, no referrers API) on 127.0.0.1, optionally with a login, storing in a
/// temporary directory; `stop()` ends it and removes the storage.
public final class LocalRegistry: Sendable {
    public let host: String
    let process: ChildProcess
    let directory: String
    /// The token service of a registry started with `tokenService: true`.
    let tokenServer: ChildProcess?
    /// One JSON line per request the token service answered (`path`, `authenticated`).
    public var tokenRequests: String { directory + "/token-requests.log" }

    /// With `login`, the registry asks for it, as a registry on the network would: as HTTP Basic
    /// against an htpasswd file (bcrypt), or with `tokenService` as a Bearer challenge naming a
    /// token service (Tests/Fixtures/registry/token-server.py) that takes the login and issues
    /// ES256 tokens the registry verifies against that service's certificate.
    public init(login: (user: String, password: String)? = nil, tokenService: Bool = false) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-registry-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        host = "127.0.0.1:\(try await Self.freePort())"
        var config = """
            version: 0.1
            log: {level: warn}
            storage: {filesystem: {rootdirectory: \(directory)/storage}, delete: {enabled: true}}
            http: {addr: "\(host)"}

            """
        var tokenServer: ChildProcess?
        if let login, tokenService {
            let (key, certificate) = (directory + "/token-key.pem", directory + "/token-cert.pem")
            try await HostCommand(
                "openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                    certificate, "-days", "2", "-subj", "/CN=hallmark-test-token",
                ]
            ).run()
            let port = try await Self.freePort()
            tokenServer = try ChildProcess.spawn(
                HostCommand(
                    "python3",
                    [
                        Repository.fixture("registry/token-server.py"), port, key, certificate, login.user, login.password,
                        "hallmark-test-issuer",
                        "hallmark-test", directory + "/token-requests.log",
                    ]), outputPath: directory + "/token-server.log")
            for _ in 0..<100 {
                let status = try? await HostCommand(
                    "curl", ["--silent", "--output", "/dev/null", "--write-out", "%{http_code}", "http://127.0.0.1:\(port)/token"]
                ).output()
                if status == "401" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            config += """
                auth:
                  token: {realm: "http://127.0.0.1:\(port)/token", service: hallmark-test, issuer: hallmark-test-issuer, rootcertbundle: \(certificate)}

                """
        } else if let login {
            let line = try await HostCommand("htpasswd", ["-Bbn", login.user, login.password]).output()
            try line.write(toFile: directory + "/htpasswd", atomically: true, encoding: .utf8)
            config += "auth: {htpasswd: {realm: hallmark-test, path: \(directory)/htpasswd}}\n"
        }
        self.tokenServer = tokenServer
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

    static func freePort() async throws -> String {
        try await HostCommand(
            "python3", ["-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
        ).output().trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func stop() async {
        await process.terminate(grace: .seconds(5))
        await tokenServer?.terminate(grace: .seconds(5))
        try? FileManager.default.removeItem(atPath: directory)
    }
}
