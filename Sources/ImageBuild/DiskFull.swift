import Foundation
import HallmarkSupport

/// Recognises a build that ran out of space, whichever tool or write hit it (tar, mkfs, qemu-img
/// and Foundation all report ENOSPC in their own words), and says where and what to do.
enum DiskFull {
    static func error(for error: Error, home: HallmarkHome, logPath: String) -> HallmarkError? {
        let text = "\(error)"
        guard text.contains("No space left on device") || text.contains("ENOSPC") || (error as? CocoaError)?.code == .fileWriteOutOfSpace
        else { return nil }
        // The size, not the free space: the scratch directory is gone by now, so the disk looks empty again.
        var size = "size unknown"
        var status = statvfs()
        if statvfs(home.work, &status) == 0 { size = "\(UInt64(status.f_blocks) * UInt64(status.f_frsize)) bytes in all" }
        return HallmarkError(
            .hostFailure,
            "build failed: no space left on the disk holding \(home.work) (\(size)); nothing of this build was kept but its log, \(logPath). Free space there or set HALLMARK_HOME to a larger disk."
        )
    }
}
