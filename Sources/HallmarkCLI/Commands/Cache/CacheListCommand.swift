import ArgumentParser
import HallmarkSupport
import ImageBuild

extension CacheCommand {
    /// `hallmark cache list`: every complete layer, most recently used first.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List the cached layers, most recently used first, with their sizes.")

        @OptionGroup var output: JSONOutputOption

        func run() async throws {
            try await runReportingErrors {
                let layers = LayerCache(home: HallmarkHome.fromEnvironment()).list().map(LayerListing.init)
                if output.json {
                    try printJSON(["layers": layers])
                } else {
                    layers.forEach { print($0.line) }
                    print("\(layers.count) layer(s), \(layers.reduce(0) { $0 + $1.sizeBytes }) bytes")
                }
                return .gateOpen
            }
        }
    }
}
