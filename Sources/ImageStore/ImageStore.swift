import Foundation
import HallmarkSupport

/// The images of one recipe name in the store, newest build last.
public struct ImageStore: Sendable {
    public var home: HallmarkHome

    public init(home: HallmarkHome) {
        self.home = home
    }

    public func builds(name: String, version: String) -> [Int] {
        let directory = home.images + "/" + name
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.compactMap { Self.build(in: $0, version: version) }.sorted()
    }

    /// Takes the next build number of `name` `version` for this process alone: two builds started
    /// at once (two CI jobs on one host) get different numbers. The claim is an exclusive mkdir
    /// that stays, so a number is never handed out twice, even when its build fails. `atLeast` is the
    /// lowest number the caller accepts (the catalog's next one, so the two never disagree).
    public func reserveNextBuild(name: String, version: String, atLeast: Int = 1) throws -> Int {
        let claims = home.images + "/\(name)/.claimed"
        try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
        let claimed = ((try? FileManager.default.contentsOfDirectory(atPath: claims)) ?? []).compactMap {
            Self.build(in: $0, version: version)
        }
        var build = max(builds(name: name, version: version).last ?? 0, claimed.max() ?? 0, atLeast - 1) + 1
        while mkdir(claims + "/\(version)-\(build)", 0o755) != 0 {
            guard errno == EEXIST else {
                throw HallmarkError(.hostFailure, "cannot claim build \(build) in \(claims): \(String(cString: strerror(errno)))")
            }
            build += 1
        }
        return build
    }

    /// The build number of a `<version>-<build>` entry.
    static func build(in entry: String, version: String) -> Int? {
        guard entry.hasPrefix(version + "-") else { return nil }
        return Int(entry.dropFirst(version.count + 1))
    }

    public func directory(name: String, version: String, build: Int) -> String {
        home.images + "/\(name)/\(version)-\(build)"
    }

    /// The newest build of `name` `version`, if any.
    public func latest(name: String, version: String) throws -> ImageArtifacts? {
        guard let build = builds(name: name, version: version).last else { return nil }
        return try ImageArtifacts.load(directory: directory(name: name, version: version, build: build))
    }
}
