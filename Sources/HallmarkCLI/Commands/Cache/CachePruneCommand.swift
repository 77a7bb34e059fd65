import ArgumentParser
import Foundation
import HallmarkSupport
import ImageBuild

extension CacheCommand {
    /// `hallmark cache prune`: removes layers beyond the N most recently used, or unused for a while.
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove cached layers: all, all but the N most recently used, or those unused for a time.")

        @Option(help: "Keep the N most recently used layers.") var keep: Int?
        @Option(help: "Remove layers unused for longer than this: a number with s, m, h or d (e.g. 7d).") var olderThan: String?
        @OptionGroup var output: JSONOutputOption

        func validate() throws {
            if let keep, keep < 0 { throw ValidationError("--keep must be 0 or more") }
            if let olderThan, Self.seconds(olderThan) == nil {
                throw ValidationError("--older-than must be a number with s, m, h or d (e.g. 12h, 7d), got '\(olderThan)'")
            }
        }

        /// `90s`, `30m`, `12h`, `7d`.
        static func seconds(_ text: String) -> TimeInterval? {
            let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            guard let unit = text.last.flatMap({ units[$0] }), let count = Int(text.dropLast()), count >= 0 else { return nil }
            return TimeInterval(count) * unit
        }

        func run() async throws {
            try await runReportingErrors {
                // Neither option: everything goes, as `--keep 0`.
                let keepCount = keep ?? (olderThan == nil ? 0 : nil)
                let removed = try LayerCache(home: HallmarkHome.fromEnvironment())
                    .prune(keep: keepCount, olderThan: olderThan.flatMap(Self.seconds)).map(LayerListing.init)
                if output.json {
                    try printJSON(["removed": removed])
                } else {
                    removed.forEach { print("removed \($0.line)") }
                    print("removed \(removed.count) layer(s), \(removed.reduce(0) { $0 + $1.sizeBytes }) bytes")
                }
                return .gateOpen
            }
        }
    }
}
