import Foundation
import HallmarkSupport

extension DirectoryTarget {
    /// What taking a build back out of a directory target did: the files removed, and the files
    /// left with the reason (not what Hallmark shipped there, or not removable).
    public struct Withdrawal: Sendable, Equatable, Codable {
        public var directory: String
        public var removed: [String]
        public var left: [Left]

        public struct Left: Sendable, Equatable, Codable {
            public var path: String
            public var reason: String

            public init(path: String, reason: String) {
                (self.path, self.reason) = (path, reason)
            }
        }
    }

    /// Removes from `<root>/<subdirectory>/` the files Hallmark shipped there: a file goes only when
    /// its name is in `shipped` and its sha256 one shipped under that name; `SHA256SUMS` only when every line
    /// names a shipped file with its digest. Anything else stays, and is said. The directory (and the
    /// image's directory above it) goes when nothing is left in it. `SHA256SUMS` goes first, so a
    /// reader never takes a half-withdrawn build for a complete one.
    public func withdraw(subdirectory: String, shipped: [String: Set<String>]) async -> Withdrawal {
        let directory = root + "/" + subdirectory
        var withdrawal = Withdrawal(directory: directory, removed: [], left: [])
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return withdrawal }
        let sumsPath = directory + "/SHA256SUMS"
        var ordered = names.filter { $0 != "SHA256SUMS" }.sorted()
        if names.contains("SHA256SUMS") {
            if let text = try? String(contentsOfFile: sumsPath, encoding: .utf8), Self.sumsNameOnlyShipped(text, shipped) {
                ordered.insert("SHA256SUMS", at: 0)
            } else {
                withdrawal.left.append(.init(path: sumsPath, reason: "not the SHA256SUMS Hallmark wrote for this build"))
            }
        }
        for name in ordered {
            let path = directory + "/" + name
            if name != "SHA256SUMS" {
                guard let expected = shipped[name], !expected.isEmpty else {
                    withdrawal.left.append(.init(path: path, reason: "not a file Hallmark shipped for this build"))
                    continue
                }
                guard let digest = try? await Digest.sha256(fileAt: path), expected.contains(digest) else {
                    withdrawal.left.append(.init(path: path, reason: "its sha256 is not the one Hallmark shipped (changed since)"))
                    continue
                }
            }
            do {
                try FileManager.default.removeItem(atPath: path)
                withdrawal.removed.append(path)
            } catch {
                withdrawal.left.append(.init(path: path, reason: "cannot remove it: \(HallmarkError.describe(error))"))
            }
        }
        for emptied in [directory, (directory as NSString).deletingLastPathComponent] {
            guard (try? FileManager.default.contentsOfDirectory(atPath: emptied))?.isEmpty == true else { break }
            try? FileManager.default.removeItem(atPath: emptied)
        }
        return withdrawal
    }

    /// Every line `<sha256>  <name>` names a shipped file with the digest it was shipped with.
    static func sumsNameOnlyShipped(_ text: String, _ shipped: [String: Set<String>]) -> Bool {
        let lines = text.split(separator: "\n")
        return !lines.isEmpty
            && lines.allSatisfy { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                return fields.count == 2 && shipped[String(fields[1])]?.contains(String(fields[0])) == true
            }
    }
}
