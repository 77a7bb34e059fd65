import Foundation
import HallmarkModel

/// One entry of a transfer action's list (WebDownload, S3Download, S3Upload) with every setting
/// rendered, and failures that name the entry as TOE's messages do. The loader has checked the
/// keys, `source` and `destination` among them.
struct TransferEntry {
    var index: Int
    private var settings: [String: String]

    var source: String { settings["source"] ?? "" }
    var destination: String { settings["destination"] ?? "" }

    /// Every entry of the step, in order.
    static func entries(of step: Component.Step, resolve: (String) -> String?) throws -> [TransferEntry] {
        try (step.inputs?.list ?? []).enumerated().map { index, value in
            var settings: [String: String] = [:]
            for key in value.keys { settings[key] = try StepScript.render(value[key]!, resolve: resolve) }
            return TransferEntry(index: index, settings: settings)
        }
    }

    /// The setting `key`, nil when the entry does not have it.
    func setting(_ key: String) -> String? { settings[key] }

    /// Whether the boolean setting `key` (`overwrite`, `recurse`) is true; absent is false.
    func isSet(_ key: String) -> Bool { settings[key]?.lowercased() == "true" }

    func failure(_ why: String) -> StepLoop.Failure {
        StepLoop.Failure(message: "entry \(index + 1) (source '\(source)') \(why)")
    }
}
