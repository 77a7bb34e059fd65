/// Accumulates stream bytes and hands out newline-terminated messages.
public struct LineBuffer: Sendable {
    private var bytes: [UInt8] = []
    /// How far we already searched for "\n", so long lines arriving in pieces are scanned once.
    private var scanned = 0

    /// Creates an empty buffer.
    public init() {}

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
    public mutating func nextLine() -> [UInt8]? {
        guard let newline = bytes[scanned...].firstIndex(of: 0x0A) else {
            scanned = bytes.count
            return nil
        }
        var line = Array(bytes[..<newline])
        bytes.removeSubrange(...newline)
        scanned = 0
        if line.last == 0x0D { line.removeLast() }  // QEMU terminates QMP messages with "\r\n"
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
