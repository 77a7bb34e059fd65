/// Accumulates stream bytes and hands out newline-terminated messages of bounded length.
///
/// A peer that never sends a newline must not make the buffer grow without bound: once the line
/// being assembled is longer than `maxLineLength`, `nextLine()` throws `SocketError.lineTooLong`.
/// The buffer then holds at most `maxLineLength` plus the last chunk appended.
public struct LineBuffer: Sendable {
    /// One MiB: ample for line protocols whose messages carry no bulk data.
    public static let defaultMaxLineLength = 1 << 20

    /// Longest line accepted, in bytes, without its terminator.
    public let maxLineLength: Int

    private var bytes: [UInt8] = []
    /// How far we already searched for "\n", so long lines arriving in pieces are scanned once.
    private var scanned = 0

    /// Creates an empty buffer that refuses lines longer than `maxLineLength` bytes.
    public init(maxLineLength: Int = LineBuffer.defaultMaxLineLength) {
        precondition(maxLineLength > 0, "maxLineLength must be positive")
        self.maxLineLength = maxLineLength
    }

    /// Number of buffered bytes not yet consumed.
    public var count: Int { bytes.count }

    /// True when nothing is buffered.
    public var isEmpty: Bool { bytes.isEmpty }

    /// The buffered bytes not yet consumed.
    public var contents: [UInt8] { bytes }

    /// Appends bytes received from the stream.
    public mutating func append(_ chunk: [UInt8]) {
        bytes += chunk
    }

    /// Removes and returns the next complete line without its "\n" (or "\r\n"), or nil if none is complete.
    ///
    /// Throws `SocketError.lineTooLong` when the next line, complete or not, exceeds `maxLineLength`;
    /// the buffer is emptied then, because where the next message starts is unknown.
    public mutating func nextLine() throws(SocketError) -> [UInt8]? {
        guard let newline = bytes[scanned...].firstIndex(of: 0x0A) else {
            scanned = bytes.count
            if bytes.count > maxLineLength {
                removeAll()
                throw .lineTooLong(limit: maxLineLength)
            }
            return nil
        }
        var line = Array(bytes[..<newline])
        bytes.removeSubrange(...newline)
        scanned = 0
        if line.last == 0x0D { line.removeLast() }  // QEMU terminates QMP messages with "\r\n"
        guard line.count <= maxLineLength else {
            removeAll()
            throw .lineTooLong(limit: maxLineLength)
        }
        return line
    }

    /// Discards everything up to and including the first `byte`; returns false (having discarded all) if absent.
    public mutating func discard(through byte: UInt8) -> Bool {
        guard let index = bytes.firstIndex(of: byte) else {
            removeAll()
            return false
        }
        bytes.removeSubrange(...index)
        scanned = 0
        return true
    }

    /// Discards everything buffered.
    public mutating func removeAll() {
        bytes.removeAll()
        scanned = 0
    }
}
