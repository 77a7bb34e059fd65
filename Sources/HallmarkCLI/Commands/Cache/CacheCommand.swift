import ArgumentParser
import Foundation
import ImageBuild

/// `hallmark cache`: the build's layer cache (the tree after each component).
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "List or prune the layer cache (the tree after each component of a build).",
        subcommands: [List.self, Prune.self])
}

/// One layer as `cache list --json` and `cache prune --json` give it.
struct LayerListing: Encodable {
    var key: String
    var recipe: String
    var position: Int
    var component: String
    var sizeBytes: UInt64
    var createdAt: Date
    var usedAt: Date
}

extension LayerListing {
    init(_ entry: LayerCache.Entry) {
        self.init(
            key: entry.key, recipe: entry.recipe, position: entry.position, component: entry.component, sizeBytes: entry.sizeBytes,
            createdAt: entry.createdAt, usedAt: entry.usedAt)
    }

    /// One line of text output.
    var line: String {
        let megabytes = String(format: "%.0f MB", Double(sizeBytes) / 1_000_000)
        return
            "\(key.prefix(16))  \(recipe) after \(position) \(component)  \(megabytes)  used \(ISO8601DateFormatter().string(from: usedAt))"
    }
}
