import Foundation
import HallmarkModel

#if canImport(Glibc)
    import Glibc
#endif

/// Which SOURCE_DATE_EPOCH a build uses, in this order: the recipe's `build.source_date_epoch`,
/// the builder's `$SOURCE_DATE_EPOCH`, else the newest file the parent's packages shipped.
enum SourceDate {
    static func epoch(recipe: Recipe, parentTree: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        if let epoch = recipe.build.sourceDateEpoch { return epoch }
        if let text = environment["SOURCE_DATE_EPOCH"], let epoch = Int(text), epoch >= 0 { return epoch }
        return newestPackagedFile(in: parentTree) ?? 0
    }

    /// The newest regular file in the parent's documentation (then its programs): dpkg gives a
    /// package's files the times they have in the package, so this depends only on the package
    /// versions, not on when the parent was bootstrapped (links and generated files do).
    static func newestPackagedFile(in tree: String) -> Int? {
        for directory in ["usr/share/doc", "usr/bin"] {
            var newest: Int?
            let root = tree + "/" + directory
            guard let walker = FileManager.default.enumerator(atPath: root) else { continue }
            while let relative = walker.nextObject() as? String {
                var status = stat()
                guard lstat(root + "/" + relative, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { continue }
                newest = max(newest ?? 0, Int(status.st_mtim.tv_sec))
            }
            if let newest { return newest }
        }
        return nil
    }
}
