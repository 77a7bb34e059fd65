import Foundation

/// What an image's tree started from, as image.json, report.json and the attestation name it.
public struct ParentRecord: Codable, Sendable, Equatable {
    /// `debian`, `tarball`, `disk` or `image`.
    public var kind: String
    /// The suite, the host path, or the image as `name version/build`.
    public var reference: String
    /// sha256 of what the tree was made from: the tarball or disk file, the parent image's disk,
    /// or for a Debian suite the parent cache key (suite, variant, mirror, packages).
    public var sha256: String

    public init(kind: String, reference: String, sha256: String) {
        self.kind = kind
        self.reference = reference
        self.sha256 = sha256
    }
}

extension ImageStore {
    /// The newest build of the newest version of `name` that `matches` accepts. The one place a
    /// parent image is looked up, so a catalog can take its place.
    public func newest(name: String, matching matches: (String) -> Bool) throws -> ImageArtifacts? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: home.images + "/" + name)) ?? []
        var best: (version: [Int], build: Int, entry: String)?
        for entry in entries where !entry.hasPrefix(".") {
            guard let dash = entry.lastIndex(of: "-"), let build = Int(entry[entry.index(after: dash)...]) else { continue }
            let version = String(entry[..<dash])
            let numbers = version.split(separator: ".").compactMap { Int($0) }
            guard numbers.count == 3, matches(version),
                FileManager.default.fileExists(atPath: home.images + "/\(name)/\(entry)/image.json")
            else { continue }
            if let current = best,
                (current.version.lexicographicallyPrecedes(numbers) || (current.version == numbers && current.build < build)) == false
            {
                continue
            }
            best = (numbers, build, entry)
        }
        return try best.map { try ImageArtifacts.load(directory: home.images + "/\(name)/\($0.entry)") }
    }
}
