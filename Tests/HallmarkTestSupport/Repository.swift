import Foundation

/// Paths of the checkout the tests run from, found from this file rather than the working directory.
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    public static let fixtures = root + "/Tests/Fixtures"

    /// A file of Tests/Fixtures, e.g. `fixture("minimal.yaml")`.
    public static func fixture(_ name: String) -> String { fixtures + "/" + name }

    /// The documented JSON Schema of report.json.
    public static let reportSchema = root + "/schemas/report.schema.json"
}

/// A fresh directory under the system's temporary directory, removed by `remove()` or, at the latest,
/// when the last reference goes away (a suite's scratch goes with its test instance).
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "hallmark-test") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { path + "/" + name }

    public func read(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: file(name))) }

    /// Writes `contents` to `name` inside the directory and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) throws -> String {
        try write(name, Data(contents.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ contents: Data) throws -> String {
        let file = file(name)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(to: URL(fileURLWithPath: file))
        return file
    }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }

    deinit { remove() }
}
