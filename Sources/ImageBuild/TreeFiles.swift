import Foundation
import HallmarkSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Host-side reads and writes of files inside an image's tree that component steps have already
/// changed. Every path is walked one name at a time from a descriptor of the tree's root with
/// `O_NOFOLLOW`, so a symbolic link a step planted (`/tmp` → a host directory, `vmlinuz` → the
/// signing key) is refused instead of followed out of the tree.
struct TreeFiles {
    let root: String

    enum Kind: Equatable {
        case file, directory, symbolicLink, other
    }

    /// The entry at `path` itself (a link is not followed), or nil when there is none.
    func kind(_ path: String) throws -> Kind? {
        let (parent, name) = try openParent(path)
        defer { close(parent) }
        var status = stat()
        guard fstatat(parent, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw failure("inspect", path)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: return .file
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        default: return .other
        }
    }

    func contentsOfDirectory(_ path: String) throws -> [String] {
        let descriptor = try openDirectory(components(path))
        guard let directory = fdopendir(descriptor) else {
            close(descriptor)
            throw failure("list", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Copies the regular file at `path` to `destination` on the host.
    func copyFile(_ path: String, to destination: String) throws {
        let source = try openFile(path)
        defer { close(source) }
        let target = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard target >= 0 else { throw HallmarkError(.buildFailed, "cannot create \(destination): \(String(cString: strerror(errno)))") }
        defer { close(target) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = Glibc.read(source, &buffer, buffer.count)
            guard count >= 0 else { throw failure("read", path) }
            if count == 0 { return }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { Glibc.write(target, $0.baseAddress! + written, count - written) }
                guard n > 0 else { throw HallmarkError(.buildFailed, "cannot write \(destination): \(String(cString: strerror(errno)))") }
                written += n
            }
        }
    }

    /// Writes `text` to `path` through a new file renamed over it, so what was there (a link
    /// included) is replaced, never written through.
    func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        let (parent, name) = try openParent(path)
        defer { close(parent) }
        let temporary = ".\(name).hallmark-\(UUID().uuidString.prefix(8))"
        let descriptor = openat(parent, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure("create", path) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, bytes.count) }
        let modeSet = fchmod(descriptor, mode) == 0
        close(descriptor)
        guard written == bytes.count, modeSet, renameat(parent, temporary, parent, name) == 0 else {
            let error = failure("write", path)
            unlinkat(parent, temporary, 0)
            throw error
        }
    }

    /// Creates the directory at `path` (its parent must exist); one already there is fine.
    func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        let (parent, name) = try openParent(path)
        defer { close(parent) }
        guard mkdirat(parent, name, mode) == 0 || errno == EEXIST else { throw failure("create directory", path) }
        guard try kind(path) == .directory else { throw HallmarkError(.buildFailed, "/\(path) in the image is not a directory") }
    }

    /// Removes the entry at `path` (a link itself, not what it points to); none there is fine.
    func remove(_ path: String) throws {
        let (parent, name) = try openParent(path)
        defer { close(parent) }
        guard unlinkat(parent, name, 0) == 0 || errno == ENOENT else { throw failure("remove", path) }
    }

    /// Removes the entry at `path` and, for a directory, everything in it, one name at a time
    /// as every other walk here (a link inside is removed, never followed); none there is fine.
    func removeRecursively(_ path: String) throws {
        guard try kind(path) == .directory else { return try remove(path) }
        for name in try contentsOfDirectory(path) { try removeRecursively(path + "/" + name) }
        let (parent, name) = try openParent(path)
        defer { close(parent) }
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT else { throw failure("remove", path) }
    }

    /// Why `path` leads out of the tree, or nil when it stays inside: each symbolic link on the
    /// way (the last name included) is read, never followed, and its target resolved against
    /// the tree as the host would read it. An absolute target, or one climbing above the root,
    /// leads out.
    func escape(of path: String) -> String? {
        var resolved: [String] = []
        var pending = components(path)
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == ".." {
                guard !resolved.isEmpty else { return "'\(path)' climbs above the image's root" }
                resolved.removeLast()
                continue
            }
            let here = root + "/" + (resolved + [name]).joined(separator: "/")
            var status = stat()
            guard lstat(here, &status) == 0 else { return nil }  // not there yet: created inside
            guard status.st_mode & S_IFMT == S_IFLNK else {
                resolved.append(name)
                continue
            }
            links += 1
            guard links <= 40 else { return "'\(path)' goes through too many symbolic links" }
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: here) else {
                return "cannot read the symbolic link /\((resolved + [name]).joined(separator: "/"))"
            }
            if target.hasPrefix("/") {
                return "/\((resolved + [name]).joined(separator: "/")) is a symbolic link to \(target), which leads out of the image's tree"
            }
            pending = components(target) + pending
        }
        return nil
    }

    // MARK: Walking

    private func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }

    private func openDirectory(_ names: [String]) throws -> Int32 {
        var descriptor = open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", root) }
        for (index, name) in names.enumerated() {
            guard name != ".." else {
                close(descriptor)
                throw HallmarkError(.buildFailed, "\(root): refusing '..' in \(names.joined(separator: "/"))")
            }
            let next = openat(descriptor, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                let error = failure("open", "/" + names[...index].joined(separator: "/"))
                close(descriptor)
                throw error
            }
            close(descriptor)
            descriptor = next
        }
        return descriptor
    }

    private func openParent(_ path: String) throws -> (Int32, String) {
        let names = components(path)
        guard let name = names.last, name != ".." else { throw HallmarkError(.internalError, "no file name in '\(path)'") }
        return (try openDirectory(Array(names.dropLast())), name)
    }

    private func openFile(_ path: String) throws -> Int32 {
        let (parent, name) = try openParent(path)
        defer { close(parent) }
        let descriptor = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", path) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(descriptor)
            throw HallmarkError(.buildFailed, "the image's \(path) is not a regular file")
        }
        return descriptor
    }

    private func failure(_ action: String, _ path: String) -> HallmarkError {
        let reason =
            errno == ELOOP || errno == ENOTDIR
            ? "a symbolic link or not a directory on the way, which Hallmark does not follow"
            : String(cString: strerror(errno))
        return HallmarkError(.buildFailed, "cannot \(action) the image's \(path.hasPrefix("/") ? path : "/" + path): \(reason)")
    }
}
