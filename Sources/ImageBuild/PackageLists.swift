import Foundation
import HallmarkSupport

/// Current apt package lists while components run, as on an Image Builder build instance: one
/// `apt-get update` per build before the first component that runs, so `apt-get install` works
/// without the component updating first; the lists are removed again before the image is sealed,
/// leaving the image as mmdebstrap leaves a parent (only `lock` and an empty `partial/`). Lists a
/// layer-cache entry holds are brought up to date by that update (apt fetches only what changed).
enum PackageLists {
    static let listsPath = "var/lib/apt/lists"
    static let cachePath = "var/cache/apt"
    static let aptGet = "usr/bin/apt-get"

    /// Fetches the lists; a tree without apt, a build without network or a failed update is said
    /// in the log and the components run anyway, as they would on an instance without lists.
    static func refresh(on executor: some StepExecutor, tree: TreeFiles, network: Bool, log: (String) -> Void) async throws {
        guard FileManager.default.fileExists(atPath: tree.root + "/" + aptGet), try tree.kind(aptGet) != nil else {
            log("apt: the tree has no /\(aptGet); no package lists fetched")
            return
        }
        guard network else {
            log("apt: build.network is false; the components run without package lists")
            return
        }
        let output = try await executor.run(bashScript: "apt-get update -o Acquire::Retries=3\n", timeout: .seconds(600))
        log((output.stdout + output.stderr).trimmingCharacters(in: .newlines))
        log(
            output.exitCode == 0
                ? "apt: package lists fetched for the components; they are removed before the image is sealed"
                : "apt: apt-get update failed (exit \(output.exitCode)); components that install packages may fail")
    }

    /// Removes the lists and apt's binary caches made from them.
    static func remove(from tree: TreeFiles) throws {
        // A tree without them has nothing to remove; TreeFiles refuses a planted link on the way.
        if FileManager.default.fileExists(atPath: tree.root + "/" + listsPath), try tree.kind(listsPath) == .directory {
            for name in try tree.contentsOfDirectory(listsPath) where name != "lock" {
                if name == "partial" {
                    for entry in try tree.contentsOfDirectory(listsPath + "/partial") {
                        try tree.removeRecursively(listsPath + "/partial/" + entry)
                    }
                } else {
                    try tree.removeRecursively(listsPath + "/" + name)
                }
            }
        }
        if FileManager.default.fileExists(atPath: tree.root + "/" + cachePath), try tree.kind(cachePath) == .directory {
            for name in try tree.contentsOfDirectory(cachePath) where name.hasSuffix(".bin") { try tree.remove(cachePath + "/" + name) }
        }
    }
}
