import Crypto
import Foundation

/// SHA-256 digests of files and bytes, as lowercase hex.
public enum Digest {
    public static func sha256(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).hex
    }

    public static func sha256(_ string: String) -> String {
        sha256(Data(string.utf8))
    }

    /// Hashes a file with `openssl dgst`: disk images are gigabytes, and OpenSSL's assembly runs at
    /// full speed in every build configuration (measured here: 1 GB in 3.2 s, sha256sum 6.2 s).
    /// `lowPriority` runs it under `nice -n 19`, for hashing beside a booting guest whose vCPU
    /// threads should keep the cores.
    public static func sha256(fileAt path: String, lowPriority: Bool = false) async throws -> String {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw HallmarkError(.hostFailure, "cannot read \(path) to compute its sha256")
        }
        let arguments = ["dgst", "-sha256", "-r", "--", path]
        let command = lowPriority ? HostCommand("nice", ["-n", "19", "openssl"] + arguments) : HostCommand("openssl", arguments)
        let output = try await command.output()
        guard let digest = output.split(separator: " ").first, digest.count == 64 else {
            throw HallmarkError(.hostFailure, "unexpected openssl dgst output for \(path): \(output.prefix(200))")
        }
        return String(digest)
    }
}

extension Sequence where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
