import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a file a user named (recipe, component, policy, waiver, facts, key, envelope) and says what
/// is wrong with the path in plain words, so no Foundation error text reaches the user.
public enum UserFile {
    /// Far above any input Hallmark reads; a bigger file (or a device that never ends) is a mistake.
    public static let maximumSize = 64 << 20

    /// What is wrong with `path` as a file to read ("is a directory", "no such file"), or nil when
    /// it is a regular file: reading a directory, a device or a FIFO fails with Foundation's text or never ends.
    public static func problem(_ path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return describe(errno: errno) }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return status.st_size <= maximumSize ? nil : "is larger than \(maximumSize >> 20) MiB"
        case S_IFDIR: return "is a directory"
        case S_IFIFO: return "is a FIFO, not a regular file"
        case S_IFCHR, S_IFBLK: return "is a device, not a regular file"
        case S_IFSOCK: return "is a socket, not a regular file"
        default: return "is not a regular file"
        }
    }

    /// Throws unless `path` is a regular file. For a path named in another file (a recipe's
    /// component), `location` is where it was named; the message then names the path too.
    public static func check(_ path: String, what: String, at location: SourceLocation? = nil) throws {
        guard let problem = problem(path) else { return }
        if let location {
            throw HallmarkError(.invalidInput, "\(what) \(path): \(problem); expected a readable file", at: location)
        }
        throw HallmarkError(.invalidInput, "\(problem); expected a readable \(what) file", at: SourceLocation(file: path))
    }

    /// The file's bytes. `what` names the file in messages ("recipe", "policy", "facts").
    public static func read(_ path: String, what: String, code: HallmarkError.Code = .invalidInput) throws -> Data {
        let location = SourceLocation(file: path)
        func failure(_ problem: String) -> HallmarkError {
            HallmarkError(code, "\(problem); expected a readable \(what) file", at: location)
        }
        if let problem = problem(path) { throw failure(problem) }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(describe(errno: errno)) }
        defer { close(descriptor) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw failure(describe(errno: errno)) }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
            guard data.count <= maximumSize else { throw failure("is larger than \(maximumSize >> 20) MiB") }
        }
    }

    /// The file as UTF-8 text; bytes that are not UTF-8 are named with their line and column.
    public static func readText(_ path: String, what: String, code: HallmarkError.Code = .invalidInput) throws -> String {
        let data = try read(path, what: what, code: code)
        let bytes = [UInt8](data)
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let offset = firstInvalidUTF8Offset(bytes)
        throw HallmarkError(
            code, "byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) is not UTF-8; save the \(what) file as UTF-8 text",
            at: position(ofByte: offset, in: bytes, file: path))
    }

    /// Where byte `offset` of a file is, as a line and a column counted in characters (as YAML parsers count).
    public static func position(ofByte offset: Int, in bytes: [UInt8], file: String) -> SourceLocation {
        let end = min(max(offset, 0), bytes.count)
        let lineStart = bytes[..<end].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        let line = bytes[..<lineStart].count(where: { $0 == UInt8(ascii: "\n") }) + 1
        // Continuation bytes (10xxxxxx) do not start a character.
        let column = bytes[lineStart..<end].count(where: { $0 & 0xC0 != 0x80 }) + 1
        return SourceLocation(file: file, line: line, column: column)
    }

    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return min(offset, bytes.count - 1)
            }
        }
    }

    /// A JSON decoding error in a sentence naming the field, without Swift's description of the error value.
    public static func decodingProblem(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            let text = keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return text.isEmpty ? "the top level" : "\"\(text.replacingOccurrences(of: ".[", with: "["))\""
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "missing \(path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(let type, let context): return "\(path(context.codingPath)) is not \(describe(type: type))"
        case DecodingError.valueNotFound(let type, let context):
            return "\(path(context.codingPath)) is null, expected \(describe(type: type))"
        case DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty:
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default: return "not valid JSON"
        }
    }

    private static func describe(type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is [Any].Type: return "a list"
        default: return "an object of the expected kind"
        }
    }

    /// errno as a user reads it about a path they gave.
    static func describe(errno code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case ENOTDIR: return "a part of the path is not a directory"
        case EACCES, EPERM: return "permission denied"
        case ENAMETOOLONG: return "the path is too long"
        case ELOOP: return "too many symbolic links in the path"
        case EISDIR: return "is a directory"
        default: return String(cString: strerror(code))
        }
    }
}
