import Foundation
import HallmarkSupport

/// A built image as it sits in `$HALLMARK_HOME/images/<name>/<version>-<build>/`, described by
/// `image.json` beside its files.
public struct ImageArtifacts: Codable, Sendable {
    public var name: String
    public var version: String
    public var build: Int
    public var recipeDigest: String
    public var builtAt: Date
    public var kernelVersion: String
    /// Kernel command line for direct kernel boot of the raw ext4 root.
    public var kernelCommandLine: String
    /// Artifact files relative to the image directory, by role: `disk.qcow2`, `disk.raw`, `vmlinuz`, `initrd.img`.
    public var files: [String: String]
    /// Installed packages (`name version`), from the image's dpkg database.
    public var packages: [String]
    public var steps: [StepRecord]

    /// Directory holding the image; not stored, set when loaded.
    public var directory: String = ""

    enum CodingKeys: String, CodingKey {
        case name, version, build, recipeDigest, builtAt, kernelVersion, kernelCommandLine, files, packages, steps
    }

    public var reference: String { "\(name) \(version)/\(build)" }

    public func path(_ role: String) -> String? { files[role].map { directory + "/" + $0 } }

    /// The disk a test boots (through an overlay): qcow2 when built, else raw.
    public var bootDisk: (path: String, format: String) {
        if let qcow2 = path("disk.qcow2") { return (qcow2, "qcow2") }
        return (path("disk.raw")!, "raw")
    }

    public static func load(directory: String) throws -> ImageArtifacts {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: directory + "/image.json"))
        } catch {
            throw HallmarkError(.usage, "\(directory) is not a Hallmark image (no image.json)")
        }
        var artifacts = try JSONDecoder.hallmark.decode(ImageArtifacts.self, from: data)
        artifacts.directory = directory
        return artifacts
    }

    func write(to directory: String) throws {
        let data = try JSONEncoder.hallmark.encode(self)
        try data.write(to: URL(fileURLWithPath: directory + "/image.json"))
    }
}

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
    /// that stays, so a number is never handed out twice, even when its build fails.
    public func reserveNextBuild(name: String, version: String) throws -> Int {
        let claims = home.images + "/\(name)/.claimed"
        try FileManager.default.createDirectory(atPath: claims, withIntermediateDirectories: true)
        let claimed = ((try? FileManager.default.contentsOfDirectory(atPath: claims)) ?? []).compactMap { Self.build(in: $0, version: version) }
        var build = max(builds(name: name, version: version).last ?? 0, claimed.max() ?? 0) + 1
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
