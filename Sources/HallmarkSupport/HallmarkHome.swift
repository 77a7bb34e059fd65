import Foundation

/// Where Hallmark keeps state between runs: `$HALLMARK_HOME`, by default `~/.hallmark`.
public struct HallmarkHome: Sendable {
    public var root: String

    public init(root: String) {
        self.root = root
    }

    /// `$HALLMARK_HOME`, else `~/.hallmark`.
    public static func fromEnvironment() -> HallmarkHome {
        if let path = ProcessInfo.processInfo.environment["HALLMARK_HOME"], !path.isEmpty {
            return HallmarkHome(root: path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
        }
        return HallmarkHome(root: NSHomeDirectory() + "/.hallmark")
    }

    /// Bootstrapped parents, keyed by the digest of what went into them.
    public var parentCache: String { root + "/cache/parents" }
    /// Built images: `images/<name>/<version>-<build>/`.
    public var images: String { root + "/images" }
    /// Scratch space for builds in progress; a build moves its result out atomically.
    public var work: String { root + "/work" }
    /// Per-VM run directories (sockets, overlays); short, because Unix socket paths are limited.
    public var run: String { root + "/run" }
    /// Host facts worth remembering, such as whether KVM works here.
    public var hostCache: String { root + "/cache/host" }
    /// Short-lived files of host commands (their captured output, a download being unpacked): here
    /// rather than the host's /tmp, so that nothing Hallmark writes lands outside its home.
    public var temporary: String { root + "/tmp" }

    /// Removes what a killed process left in `temporary` (nothing removes a SIGKILLed run's files):
    /// only files untouched for `age` seconds, far longer than any host command runs.
    public func removeStaleTemporaryFiles(olderThan age: TimeInterval = 86400) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []
        for name in names {
            let path = temporary + "/" + name
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                Date().timeIntervalSince(modified) > age
            else { continue }
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// A fresh path under `temporary`, its directory created; the caller removes the file.
    public func temporaryFile(suffix: String) throws -> String {
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        return temporary + "/\(UUID().uuidString)\(suffix)"
    }

    /// Creates a fresh, uniquely named directory under `parent`.
    public func makeScratchDirectory(under parent: String, prefix: String) throws -> String {
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let template = parent + "/\(prefix)XXXXXX"
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else {
            throw HallmarkError(.hostFailure, "cannot create a directory under \(parent): \(String(cString: strerror(errno)))")
        }
        return String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
