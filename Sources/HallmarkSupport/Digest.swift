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

    /// Hashes a file with coreutils' sha256sum: disk images are gigabytes, and it runs at
    /// hardware speed in every build configuration.
    public static func sha256(fileAt path: String) async throws -> String {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw HallmarkError(.infrastructure, "cannot read \(path) to compute its sha256")
        }
        let output = try await HostCommand("sha256sum", ["--", path]).output()
        guard let digest = output.split(separator: " ").first, digest.count == 64 else {
            throw HallmarkError(.infrastructure, "unexpected sha256sum output for \(path): \(output.prefix(200))")
        }
        return String(digest)
    }
}

extension Sequence where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
