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

    /// Hashes a file on a thread of its own, reading only its data: a hole (`SEEK_HOLE`) is hashed
    /// as the zeros it reads as, from memory. A raw disk is mostly holes, and reading them makes the
    /// kernel fill page cache with zeros: a fresh 4 GiB disk from mkfs (720 MB of data) hashed in
    /// 4.4 s this way, in 6.4–8.3 s read whole by `openssl dgst`. The SHA-256 itself is
    /// swift-crypto's (BoringSSL's assembly, with the CPU's SHA extensions where it has them).
    /// `lowPriority` runs the thread at nice 19, for hashing beside a booting guest whose vCPU
    /// threads should keep the cores.
    public static func sha256(fileAt path: String, lowPriority: Bool = false) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                // Linux keeps a nice value per thread: `who` 0 is this thread alone.
                if lowPriority { setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19) }
                continuation.resume(with: Result { try sha256SkippingHoles(path) })
            }
            thread.name = "hallmark-sha256"
            thread.start()
        }
    }

    static func sha256SkippingHoles(_ path: String) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HallmarkError(.hostFailure, "cannot read \(path) to compute its sha256: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw HallmarkError(.hostFailure, "cannot stat \(path)") }
        let size = off_t(status.st_size)
        let chunk = 1 << 20
        let zeros = [UInt8](repeating: 0, count: chunk)
        var buffer = [UInt8](repeating: 0, count: chunk)
        var hasher = SHA256()
        var position: off_t = 0
        func failure(_ what: String) -> HallmarkError {
            HallmarkError(
                .hostFailure, "cannot \(what) \(path) at byte \(position) to compute its sha256: \(String(cString: strerror(errno)))")
        }
        // SEEK_DATA and SEEK_HOLE, which Glibc declares only for _GNU_SOURCE.
        let (seekData, seekHole): (Int32, Int32) = (3, 4)
        while position < size {
            // ENXIO: no data after `position`, the rest is one hole.
            var data = lseek(descriptor, position, seekData)
            if data < 0 {
                guard errno == ENXIO else { throw failure("seek in") }
                data = size
            }
            while position < data {
                let count = Int(min(off_t(chunk), data - position))
                zeros.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(start: $0.baseAddress, count: count)) }
                position += off_t(count)
            }
            guard position < size else { break }
            let hole = lseek(descriptor, position, seekHole)
            guard hole >= 0 else { throw failure("seek in") }
            while position < hole {
                let wanted = Int(min(off_t(chunk), hole - position))
                let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, wanted, position) }
                guard count > 0 else { throw failure(count == 0 ? "read past the end of" : "read") }
                buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(start: $0.baseAddress, count: count)) }
                position += off_t(count)
            }
        }
        return hasher.finalize().hex
    }
}

extension Sequence where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
