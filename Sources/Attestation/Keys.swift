import Crypto
import Foundation
import HallmarkSupport

#if canImport(Glibc)
    import Glibc
#endif

/// An Ed25519 private key, stored as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form
/// `openssl genpkey -algorithm ed25519` writes and `openssl pkeyutl -sign` reads.
public struct SigningKey: Sendable {
    /// DER of a PKCS#8 v1 PrivateKeyInfo for Ed25519 up to the 32-byte seed (RFC 8410).
    static let pkcs8Prefix: [UInt8] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ]

    private let key: Curve25519.Signing.PrivateKey

    /// A new random key.
    public static func generate() -> SigningKey {
        SigningKey(key: Curve25519.Signing.PrivateKey())
    }

    private init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
    }

    /// A key from its 32-byte seed (RFC 8032's "private key").
    public init(seed: some ContiguousBytes) throws {
        do {
            key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        } catch {
            throw HallmarkError.invalidInput("not an Ed25519 private key seed (expected 32 bytes)")
        }
    }

    /// Parses a PKCS#8 PEM; `source` names the file in errors.
    public init(pem: String, source: String) throws {
        let der = try PEM.decode(pem, label: "PRIVATE KEY", expecting: "an Ed25519 private key (PKCS#8 PEM)", source: source)
        guard der.count == Self.pkcs8Prefix.count + 32, der.starts(with: Self.pkcs8Prefix) else {
            throw HallmarkError.invalidInput(
                "not an Ed25519 private key: the PKCS#8 structure is not the RFC 8410 Ed25519 form (\(der.count) bytes of DER)",
                at: SourceLocation(file: source))
        }
        try self.init(seed: der.suffix(32))
    }

    /// Reads a PKCS#8 PEM file. A key that others can change is refused (whoever can write it
    /// can sign as you); one that others can read is used, and `warn` says so.
    public init(pemFile path: String, warn: (String) -> Void = { _ in }) throws {
        // What the path is comes first: /dev/zero's mode would otherwise read as a key everyone may write.
        try UserFile.check(path, what: "PEM key")
        if let warning = try Self.checkPermissions(ofKeyFile: path) { warn(warning) }
        try self.init(pem: try readKeyFile(path), source: path)
    }

    /// Throws for a key file writable by its group or others; returns a warning for one they can read.
    static func checkPermissions(ofKeyFile path: String) throws -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }  // reading it reports the problem
        let mode = status.st_mode & 0o777
        let octal = String(mode, radix: 8)
        if mode & 0o022 != 0 {
            throw HallmarkError.invalidInput(
                "the signing key is writable by \(mode & 0o002 != 0 ? "everyone" : "its group") (mode \(octal)); run chmod 600 \(path)",
                at: SourceLocation(file: path))
        }
        if mode & 0o044 != 0 {
            return
                "the signing key \(path) is readable by \(mode & 0o004 != 0 ? "everyone" : "its group") (mode \(octal)); run chmod 600 on it"
        }
        return nil
    }

    public var publicKey: VerifyingKey {
        VerifyingKey(key: key.publicKey)
    }

    /// PKCS#8 PEM text. This is the secret: write it only to a 0600 file.
    public var pemRepresentation: String {
        PEM.encode(Data(Self.pkcs8Prefix) + key.rawRepresentation, label: "PRIVATE KEY")
    }

    /// An Ed25519 signature (64 bytes) over `message`.
    public func signature(for message: some DataProtocol) throws -> Data {
        do {
            return try key.signature(for: message)
        } catch {
            throw HallmarkError(.internalError, "Ed25519 signing failed: \(error)")
        }
    }
}

/// An Ed25519 public key, stored as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the form
/// `openssl pkey -pubout` writes and `openssl pkeyutl -verify -pubin` reads.
public struct VerifyingKey: Sendable, Equatable {
    /// DER of a SubjectPublicKeyInfo for Ed25519 up to the 32-byte key (RFC 8410).
    static let spkiPrefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    fileprivate let key: Curve25519.Signing.PublicKey

    fileprivate init(key: Curve25519.Signing.PublicKey) {
        self.key = key
    }

    /// A key from its 32 raw bytes.
    public init(rawRepresentation: some ContiguousBytes) throws {
        do {
            key = try Curve25519.Signing.PublicKey(rawRepresentation: rawRepresentation)
        } catch {
            throw HallmarkError.invalidInput("not an Ed25519 public key (expected 32 bytes)")
        }
    }

    /// Parses an SPKI PEM; `source` names the file in errors.
    public init(pem: String, source: String) throws {
        let der = try PEM.decode(pem, label: "PUBLIC KEY", expecting: "an Ed25519 public key (SPKI PEM)", source: source)
        guard der.count == Self.spkiPrefix.count + 32, der.starts(with: Self.spkiPrefix) else {
            throw HallmarkError.invalidInput(
                "not an Ed25519 public key: the SubjectPublicKeyInfo is not the RFC 8410 Ed25519 form (\(der.count) bytes of DER)",
                at: SourceLocation(file: source))
        }
        try self.init(rawRepresentation: der.suffix(32))
    }

    /// Reads an SPKI PEM file.
    public init(pemFile path: String) throws {
        try self.init(pem: try readKeyFile(path), source: path)
    }

    public static func == (lhs: VerifyingKey, rhs: VerifyingKey) -> Bool {
        lhs.rawRepresentation == rhs.rawRepresentation
    }

    /// The 32 raw key bytes.
    public var rawRepresentation: Data { key.rawRepresentation }

    /// SubjectPublicKeyInfo DER.
    public var spkiDER: Data { Data(Self.spkiPrefix) + key.rawRepresentation }

    public var pemRepresentation: String { PEM.encode(spkiDER, label: "PUBLIC KEY") }

    /// Lowercase hex SHA-256 of the SPKI DER: `openssl pkey -pubin -in KEY -outform DER | sha256sum`.
    public var keyID: String { HallmarkSupport.Digest.sha256(spkiDER) }

    public func isValidSignature(_ signature: some DataProtocol, for message: some DataProtocol) -> Bool {
        key.isValidSignature(signature, for: message)
    }
}

/// The files `hallmark key generate` writes.
public struct KeyFiles: Sendable, Equatable {
    public static let privateKeyName = "hallmark.key"
    public static let publicKeyName = "hallmark.pub"

    public var keyID: String
    public var privateKeyPath: String
    public var publicKeyPath: String

    /// Generates a key pair into `directory` (created when missing): `hallmark.key` (mode 0600) and
    /// `hallmark.pub` (mode 0644). Refuses to overwrite either file; never leaves one without the other.
    public static func generate(in directory: String) throws -> KeyFiles {
        let privatePath = (directory as NSString).appendingPathComponent(privateKeyName)
        let publicPath = (directory as NSString).appendingPathComponent(publicKeyName)
        for path in [privatePath, publicPath] where FileManager.default.fileExists(atPath: path) {
            throw HallmarkError(.usage, "\(path) already exists; refusing to overwrite a key (choose another --out directory)")
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw HallmarkError(.usage, "cannot create directory \(directory)", cause: error)
        }
        let key = SigningKey.generate()
        try writeNewFile(privatePath, contents: Data(key.pemRepresentation.utf8), mode: 0o600)
        do {
            try writeNewFile(publicPath, contents: Data(key.publicKey.pemRepresentation.utf8), mode: 0o644)
        } catch {
            _ = unlink(privatePath)
            throw error
        }
        return KeyFiles(keyID: key.publicKey.keyID, privateKeyPath: privatePath, publicKeyPath: publicPath)
    }
}

/// Creates `path` exclusively (O_EXCL: never follows or replaces an existing file) with exactly `mode`.
private func writeNewFile(_ path: String, contents: Data, mode: mode_t) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
    guard descriptor >= 0 else {
        let reason = String(cString: strerror(errno))
        throw HallmarkError(errno == EEXIST ? .usage : .hostFailure, "cannot create \(path): \(reason)")
    }
    var failure: String?
    if fchmod(descriptor, mode) != 0 { failure = String(cString: strerror(errno)) }
    if failure == nil {
        failure = contents.withUnsafeBytes { buffer -> String? in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                offset += written
            }
            return nil
        }
    }
    if failure == nil, fsync(descriptor) != 0 { failure = String(cString: strerror(errno)) }
    close(descriptor)
    if let failure {
        _ = unlink(path)
        throw HallmarkError(.hostFailure, "cannot write \(path): \(failure)")
    }
}

private func readKeyFile(_ path: String) throws -> String {
    try UserFile.readText(path, what: "PEM key")
}

/// RFC 7468 textual encoding, for the two labels Hallmark uses.
enum PEM {
    static func encode(_ der: Data, label: String) -> String {
        let body = der.base64EncodedString()
        var lines = ["-----BEGIN \(label)-----"]
        var start = body.startIndex
        while start < body.endIndex {
            let end = body.index(start, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
            lines.append(String(body[start..<end]))
            start = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The DER inside the first `label` block; errors name `source` and say what was found instead.
    static func decode(_ text: String, label: String, expecting: String, source: String) throws -> Data {
        let location = SourceLocation(file: source)
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        let begin = "-----BEGIN \(label)-----", end = "-----END \(label)-----"
        guard let first = lines.firstIndex(of: begin) else {
            if let other = lines.first(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") }) {
                let found = other.dropFirst("-----BEGIN ".count).dropLast(5)
                throw HallmarkError.invalidInput("expected \(expecting), found a PEM \"\(found)\" block", at: location)
            }
            throw HallmarkError.invalidInput("expected \(expecting): no \"\(begin)\" line", at: location)
        }
        guard let last = lines[(first + 1)...].firstIndex(of: end) else {
            throw HallmarkError.invalidInput("malformed PEM: \"\(begin)\" without \"\(end)\"", at: location)
        }
        let body = lines[(first + 1)..<last]
        if body.contains(where: { $0.contains(":") }) {
            throw HallmarkError.invalidInput("malformed PEM: encrypted or annotated keys are not supported", at: location)
        }
        guard !body.isEmpty, let der = Data(base64Encoded: body.joined()) else {
            throw HallmarkError.invalidInput("malformed PEM: the body between the BEGIN and END lines is not base64", at: location)
        }
        return der
    }
}
