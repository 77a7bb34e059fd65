import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A set of files written beside a directory and published into it as a whole: whatever
/// interrupts Hallmark, the directory holds either its earlier files or the complete new set,
/// never some of each.
///
/// The new files go into a hidden sibling (`.<name>.staging-XXXXXX`, same filesystem). Files
/// of the directory outside the set (logs still being written, such as console.log) are
/// hard-linked into it, so they stay the same files; then one `renameat2(RENAME_EXCHANGE)`
/// swaps the two directories and the sibling, now holding the old files, is removed.
public final class StagedDirectory: Sendable {
    /// The directory being replaced.
    public let target: String
    /// Where the new files are written before publication.
    public let path: String

    /// Creates the staging directory beside `target` (which must exist).
    public init(replacing target: String) throws {
        self.target = target
        let parent = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        var template = Array("\(parent)/.\(name).staging-XXXXXX".utf8CString)
        guard mkdtemp(&template) != nil else {
            throw HallmarkError(.hostFailure, "cannot create a staging directory beside \(target): \(String(cString: strerror(errno)))")
        }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // An interrupt tears down registered directories: a half-written set leaves nothing behind.
        ChildRegistry.shared.addDirectory(path)
    }

    /// Publishes the staged files. `fileSet` names every file the set may hold: those the
    /// target has but the new set lacks (an envelope left by a signed earlier run) are not
    /// carried over; every other file of the target is.
    public func publish(fileSet setNames: Set<String>) throws {
        let fileManager = FileManager.default
        for name in (try? fileManager.contentsOfDirectory(atPath: target)) ?? []
        where !setNames.contains(name) && !fileManager.fileExists(atPath: path + "/" + name) {
            let source = target + "/" + name, destination = path + "/" + name
            if link(source, destination) != 0 { try fileManager.copyItem(atPath: source, toPath: destination) }
        }
        guard let exchange = Self.renameExchange else {
            throw HallmarkError(.hostFailure, "cannot publish \(target): this C library has no renameat2")
        }
        if exchange(AT_FDCWD, path, AT_FDCWD, target, Self.exchangeFlag) != 0 {
            let reason = String(cString: strerror(errno))
            throw HallmarkError(.hostFailure, "cannot publish the evidence into \(target) (renameat2 RENAME_EXCHANGE: \(reason))")
        }
        discard()
    }

    /// Removes the staging directory (after publication it holds the replaced files).
    public func discard() {
        try? FileManager.default.removeItem(atPath: path)
        ChildRegistry.shared.removeDirectory(path)
    }

    private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// RENAME_EXCHANGE from <stdio.h>.
    private static let exchangeFlag: UInt32 = 1 << 1

    /// glibc has renameat2 since 2.28, but Swift's Glibc module leaves out GNU-only declarations.
    private static let renameExchange: RenameAt2? = dlsym(nil, "renameat2").map { unsafeBitCast($0, to: RenameAt2.self) }
}
