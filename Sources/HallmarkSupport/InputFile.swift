import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A file a user named (on the command line or in another file), checked for what it is before it
/// is read: reading a directory, a device or a FIFO either fails with Foundation's text or never ends.
public enum InputFile {
    /// Why `path` cannot be read as `what` (e.g. "recipe file"), or nil when it is a regular file.
    public static func problem(_ path: String, what: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            switch errno {
            case ENOENT, ENOTDIR: return "\(what) not found: \(path)"
            case ENAMETOOLONG: return "\(what) path is too long (at most 255 bytes a name, 4095 in all): \(path.prefix(80))…"
            case EACCES: return "\(what) \(path) cannot be reached: permission denied on a directory of its path"
            default: return "\(what) \(path) cannot be read: \(String(cString: strerror(errno)))"
            }
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "\(what) \(path) is a directory, expected a file"
        case S_IFCHR, S_IFBLK: return "\(what) \(path) is a device, not a regular file; expected a file"
        case S_IFIFO: return "\(what) \(path) is a FIFO, not a regular file; expected a file"
        case S_IFSOCK: return "\(what) \(path) is a socket, not a regular file; expected a file"
        default: return "\(what) \(path) is not a regular file; expected a file"
        }
    }

    /// Throws an invalid-input error at `location` (default: the file itself) unless `path` is a regular file.
    public static func check(_ path: String, what: String, at location: SourceLocation? = nil) throws {
        if let problem = problem(path, what: what) {
            throw HallmarkError.invalidInput(problem, at: location ?? SourceLocation(file: path))
        }
    }

    /// The bytes of a regular file, or an invalid-input error that says what is wrong with it.
    public static func read(_ path: String, what: String, at location: SourceLocation? = nil) throws -> Data {
        try check(path, what: what, at: location)
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).code == CocoaError.fileReadNoPermission.rawValue ? "permission denied" : "read failed"
            throw HallmarkError.invalidInput("cannot read \(what) \(path): \(reason)", at: location ?? SourceLocation(file: path))
        }
    }
}
