import Foundation
import HallmarkSupport

/// `HOST[:PORT]/REPOSITORY[:TAG|@sha256:HEX]`, as `docker pull` and skopeo's `docker://` write it.
public struct RegistryReference: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var repository: String
    /// A tag or a `sha256:` digest; nil when the reference names only the repository.
    public var reference: String?

    public init(host: String, repository: String, reference: String? = nil) {
        (self.host, self.repository, self.reference) = (host, repository, reference)
    }

    /// Throws a usage error naming what is expected.
    public init(parsing text: String) throws {
        let expected = "expected HOST[:PORT]/REPOSITORY[:TAG or @sha256:DIGEST], e.g. 127.0.0.1:5000/images/web:1.0.0-3"
        guard let slash = text.firstIndex(of: "/"), slash != text.startIndex else {
            throw HallmarkError(.usage, "registry reference '\(text)': no host; \(expected)")
        }
        host = String(text[..<slash])
        var path = String(text[text.index(after: slash)...])
        reference = nil
        if let at = path.firstIndex(of: "@") {
            reference = String(path[path.index(after: at)...])
            path = String(path[..<at])
            guard let digest = reference, digest.hasPrefix("sha256:"), digest.count == 71 else {
                throw HallmarkError(.usage, "registry reference '\(text)': the digest is not sha256:<64 hex digits>")
            }
        } else if let colon = path.lastIndex(of: ":"), !path[colon...].contains("/") {
            reference = String(path[path.index(after: colon)...])
            path = String(path[..<colon])
        }
        let component = /[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*/
        guard !path.isEmpty,
            path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy({ $0.wholeMatch(of: component) != nil })
        else {
            throw HallmarkError(
                .usage, "registry reference '\(text)': '\(path)' is not a repository (lowercase path components); \(expected)")
        }
        repository = path
    }

    public var description: String {
        host + "/" + repository + (reference.map { $0.hasPrefix("sha256:") ? "@" + $0 : ":" + $0 } ?? "")
    }

    /// Plain HTTP only for the machine itself, as Docker and skopeo allow without configuration.
    var scheme: String {
        let name =
            host.hasPrefix("[") ? String(host[..<(host.firstIndex(of: "]") ?? host.endIndex)]) + "]" : String(host.split(separator: ":")[0])
        return name == "localhost" || name.hasPrefix("127.") || name == "[::1]" ? "http" : "https"
    }
}

/// The login for a registry, from the auth file skopeo, podman and Docker write (`skopeo login`,
/// `docker login`): `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, else
/// `~/.docker/config.json`; the entry for the host holds base64 of `user:password`.
public struct RegistryCredentials: Sendable, Equatable {
    public var user: String
    public var password: String

    public init(user: String, password: String) {
        (self.user, self.password) = (user, password)
    }

    public static func authFiles(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        if let file = environment["REGISTRY_AUTH_FILE"], !file.isEmpty { return [file] }
        var files: [String] = []
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { files.append(runtime + "/containers/auth.json") }
        files.append((environment["HOME"] ?? NSHomeDirectory()) + "/.docker/config.json")
        return files
    }

    /// The first auth file that has an entry for `host` (as `host` or `https://host`) decides.
    public static func find(host: String, in files: [String] = authFiles()) throws -> RegistryCredentials? {
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            guard let auths = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["auths"] as? [String: Any] else {
                throw HallmarkError(.invalidInput, "\(file): not a registry auth file (no \"auths\" object)")
            }
            guard let entry = (auths[host] ?? auths["https://" + host] ?? auths["http://" + host]) as? [String: Any] else { continue }
            guard let encoded = entry["auth"] as? String,
                let decoded = Data(base64Encoded: encoded).map({ String(decoding: $0, as: UTF8.self) }),
                let colon = decoded.firstIndex(of: ":")
            else { throw HallmarkError(.invalidInput, "\(file): the entry for \(host) has no \"auth\" of base64 user:password") }
            return RegistryCredentials(user: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
        }
        return nil
    }

    var basic: String { "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }
}

/// The OCI distribution API over HTTP(S), through the host's curl (TLS, proxies and the system's
/// CA store as curl does them). Request and response bodies are staged in `scratch`. A 401 is
/// answered as the registry asks: Basic with the login, or a Bearer token from the registry's
/// token service for the scope it names (the login, if any, authenticates that request).
struct RegistryClient {
    var registry: RegistryReference
    var scratch: String
    var credentials: RegistryCredentials?
    /// The Authorization header that worked last, reused so each request is not challenged again.
    let authorization = AuthorizationCache()

    init(registry: RegistryReference, scratch: String, credentials: RegistryCredentials?) {
        (self.registry, self.scratch, self.credentials) = (registry, scratch, credentials)
    }

    final class AuthorizationCache: @unchecked Sendable {
        private let lock = NSLock()
        private var header: String?
        var value: String? {
            get { lock.withLock { header } }
            set { lock.withLock { header = newValue } }
        }
    }

    struct Response {
        var status: Int
        /// Header names in lowercase.
        var headers: [String: String]
        var body: Data
    }

    enum Body {
        case bytes(Data)
        case file(String)
    }

    var repositoryURL: String { "\(registry.scheme)://\(registry.host)/v2/\(registry.repository)" }

    /// One request, answering a 401 challenge once; throws only when curl cannot reach the
    /// registry or the token service refuses, never on the registry's own HTTP status.
    func send(
        _ method: String, _ url: String, headers: [String: String] = [:], body: Body? = nil, redirects: Bool = false, saveTo: String? = nil
    ) async throws -> Response {
        var headers = headers
        if let cached = authorization.value { headers["Authorization"] = cached }
        let response = try await sendOnce(method, url, headers: headers, body: body, redirects: redirects, saveTo: saveTo)
        guard response.status == 401, let challenge = response.headers["www-authenticate"] else { return response }
        let answer = try await authorize(challenge)
        authorization.value = answer
        headers["Authorization"] = answer
        return try await sendOnce(method, url, headers: headers, body: body, redirects: redirects, saveTo: saveTo)
    }

    /// The Authorization header that answers a `WWW-Authenticate` challenge.
    func authorize(_ challenge: String) async throws -> String {
        let scheme = challenge.prefix { $0 != " " }.lowercased()
        if scheme == "basic" {
            guard let credentials else {
                throw HallmarkError(
                    .usage,
                    "registry \(registry.host) asks for a login; log in with `skopeo login \(registry.host)` (or docker login), or set REGISTRY_AUTH_FILE"
                )
            }
            return credentials.basic
        }
        guard scheme == "bearer" else {
            throw HallmarkError(.hostFailure, "registry \(registry.host) asks for \(scheme) authentication, which Hallmark does not speak")
        }
        let parameters = Self.challengeParameters(String(challenge.dropFirst(scheme.count)))
        guard let realm = parameters["realm"], var components = URLComponents(string: realm) else {
            throw HallmarkError(.hostFailure, "registry \(registry.host) sent a Bearer challenge without a realm: \(challenge)")
        }
        components.queryItems =
            (components.queryItems ?? [])
            + ["service", "scope"].compactMap { key in parameters[key].map { URLQueryItem(name: key, value: $0) } }
        let token = try await sendOnce("GET", components.string ?? realm, headers: credentials.map { ["Authorization": $0.basic] } ?? [:])
        let object = (try? JSONSerialization.jsonObject(with: token.body)) as? [String: Any]
        guard token.status == 200, let value = (object?["token"] ?? object?["access_token"]) as? String else {
            throw HallmarkError(
                .usage,
                "the token service \(realm) of registry \(registry.host) answered HTTP \(token.status)\(credentials == nil ? " (no login for \(registry.host) in the auth file)" : "")"
            )
        }
        return "Bearer " + value
    }

    /// `realm="…",service="…",scope="…"` as a dictionary (a scope may hold commas inside its quotes).
    static func challengeParameters(_ text: String) -> [String: String] {
        var parameters: [String: String] = [:]
        for match in text.matches(of: /([A-Za-z]+)="([^"]*)"/) { parameters[String(match.1)] = String(match.2) }
        return parameters
    }

    private func sendOnce(
        _ method: String, _ url: String, headers: [String: String] = [:], body: Body? = nil, redirects: Bool = false, saveTo: String? = nil
    ) async throws
        -> Response
    {
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let id = UUID().uuidString.prefix(8)
        let headerFile = scratch + "/\(id).headers"
        let output = saveTo ?? scratch + "/\(id).body"
        defer {
            try? FileManager.default.removeItem(atPath: headerFile)
            if saveTo == nil { try? FileManager.default.removeItem(atPath: output) }
        }
        var arguments = ["--silent", "--show-error", "--connect-timeout", "15", "--dump-header", headerFile, "--output", output]
        arguments += method == "HEAD" ? ["--head"] : ["--request", method]
        // A registry may send a blob's bytes from elsewhere (a storage bucket).
        if redirects { arguments.append("--location") }
        // Headers go in a config file of mode 0600, so a login never shows in the process list.
        let config = scratch + "/\(id).curlrc"
        let lines = headers.sorted(by: { $0.key < $1.key }).map {
            "header = \"\($0.key): \($0.value.replacingOccurrences(of: "\"", with: "\\\""))\"\n"
        }
        guard FileManager.default.createFile(atPath: config, contents: Data(lines.joined().utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw HallmarkError(.hostFailure, "cannot write \(config)")
        }
        defer { try? FileManager.default.removeItem(atPath: config) }
        arguments += ["--config", config]
        switch body {
        case .bytes(let data):
            let file = scratch + "/\(id).request"
            try data.write(to: URL(fileURLWithPath: file))
            defer { try? FileManager.default.removeItem(atPath: file) }
            arguments += ["--data-binary", "@" + file]
            return try await run(arguments + [url], headerFile: headerFile, output: output, what: "\(method) \(url)")
        case .file(let path):
            arguments += ["--upload-file", path]
        case nil:
            break
        }
        return try await run(arguments + [url], headerFile: headerFile, output: output, what: "\(method) \(url)")
    }

    private func run(_ arguments: [String], headerFile: String, output: String, what: String) async throws -> Response {
        do {
            _ = try await HostCommand("curl", arguments).output()
        } catch {
            throw HallmarkError(.hostFailure, "registry \(registry.host) did not answer \(what)", cause: error)
        }
        let headerText = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
        // Only the last response counts (a 100 Continue comes first).
        let block = headerText.components(separatedBy: "\r\n\r\n").last { $0.hasPrefix("HTTP/") } ?? ""
        var lines = block.components(separatedBy: "\r\n")
        let statusLine = lines.isEmpty ? "" : lines.removeFirst()
        let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: output))) ?? Data()
        return Response(status: status, headers: headers, body: body)
    }

    /// A failure naming the request, the status and the registry's own error messages.
    func failure(_ what: String, _ response: Response) -> HallmarkError {
        let errors = ((try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any])?["errors"] as? [[String: Any]] ?? []
        let messages = errors.map { "\($0["code"] as? String ?? "?"): \($0["message"] as? String ?? "")" }
        let detail = messages.isEmpty ? "" : " (\(messages.joined(separator: "; ")))"
        return HallmarkError(
            .hostFailure, "registry \(registry.host)/\(registry.repository): \(what) answered HTTP \(response.status)\(detail)")
    }

    func blobExists(_ digest: String) async throws -> Bool {
        let response = try await send("HEAD", repositoryURL + "/blobs/" + digest)
        return response.status == 200
    }

    /// A monolithic upload: POST for a session, PUT of the bytes with their digest, which the
    /// registry checks before it keeps them.
    func uploadBlob(_ digest: String, _ body: Body) async throws {
        let session = try await send("POST", repositoryURL + "/blobs/uploads/", headers: ["Content-Length": "0"])
        guard session.status == 202, var location = session.headers["location"] else {
            throw failure("starting the upload of \(digest)", session)
        }
        if location.hasPrefix("/") { location = "\(registry.scheme)://\(registry.host)" + location }
        let separator = location.contains("?") ? "&" : "?"
        let url = location + separator + "digest=" + digest.replacingOccurrences(of: ":", with: "%3A")
        let put = try await send("PUT", url, headers: ["Content-Type": "application/octet-stream"], body: body)
        guard put.status == 201 else { throw failure("the upload of \(digest)", put) }
    }

    func putManifest(_ data: Data, mediaType: String, reference: String) async throws -> Response {
        let response = try await send(
            "PUT", repositoryURL + "/manifests/" + reference, headers: ["Content-Type": mediaType], body: .bytes(data))
        guard response.status == 201 else { throw failure("storing manifest \(reference)", response) }
        return response
    }

    /// The manifest under a tag or digest, or nil when there is none.
    func manifest(_ reference: String, accept: [String]) async throws -> Data? {
        let response = try await send("GET", repositoryURL + "/manifests/" + reference, headers: ["Accept": accept.joined(separator: ", ")])
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure("reading manifest \(reference)", response) }
        return response.body
    }

    /// The referrers API's index for `digest`, or nil when the registry has no referrers API.
    func referrersIndex(_ digest: String) async throws -> Data? {
        let response = try await send("GET", repositoryURL + "/referrers/" + digest, headers: ["Accept": OCIArtifact.indexMediaType])
        guard response.status == 200, response.headers["content-type"]?.hasPrefix(OCIArtifact.indexMediaType) == true else { return nil }
        return response.body
    }

    /// Downloads a blob to `path` and checks its digest: the registry is not trusted with the bytes.
    func downloadBlob(_ digest: String, to path: String) async throws {
        let response = try await send("GET", repositoryURL + "/blobs/" + digest, redirects: true, saveTo: path)
        guard response.status == 200 else {
            try? FileManager.default.removeItem(atPath: path)
            throw failure("reading blob \(digest)", response)
        }
        let actual = "sha256:" + (try await Digest.sha256(fileAt: path))
        guard actual == digest else {
            try? FileManager.default.removeItem(atPath: path)
            throw HallmarkError(.hostFailure, "registry \(registry.host) served \(actual) for blob \(digest)")
        }
    }
}
