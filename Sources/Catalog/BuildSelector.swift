import HallmarkModel
import HallmarkSupport

/// `NAME`, `NAME@1.2.0`, `NAME@1.2.0/7`, or a wildcard `NAME@1.x.x` / `NAME@1.2.x` / `NAME@x.x.x`:
/// which build of an image a command means. Anything but an exact build resolves to the newest
/// AVAILABLE build that matches.
public struct BuildSelector: Sendable, Equatable, CustomStringConvertible {
    public var image: String
    /// major, minor, patch; nil where the selector says `x`. Wildcards only trail: `1.x.x`, never `x.1.x`.
    public var major: Int?, minor: Int?, patch: Int?
    /// The build number, when one is named (`1.2.0/7`).
    public var number: Int?

    static let accepted = "NAME, NAME@MAJOR.MINOR.PATCH, NAME@MAJOR.MINOR.PATCH/BUILD or a wildcard NAME@1.x.x, NAME@1.2.x, NAME@x.x.x"

    public init(parsing text: String) throws {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = parts.first, !name.isEmpty, !name.contains("/") else {
            throw HallmarkError(.usage, "'\(text)' names no image; expected \(Self.accepted)")
        }
        image = name
        guard parts.count == 2 else { return }
        var versionText = parts[1]
        if let slash = versionText.firstIndex(of: "/") {
            guard let number = Int(versionText[versionText.index(after: slash)...]), number > 0 else {
                throw HallmarkError(.usage, "'\(text)': the build after '/' must be a positive number; expected \(Self.accepted)")
            }
            self.number = number
            versionText = String(versionText[..<slash])
        }
        let fields = versionText.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let numbers = fields.map { $0 == "x" ? nil : Int($0) }
        let wildcardsTrail = zip(numbers, numbers.dropFirst()).allSatisfy { $0 != nil || $1 == nil }
        guard fields.count == 3, zip(fields, numbers).allSatisfy({ $0 == "x" || ($1 ?? -1) >= 0 }), wildcardsTrail,
            number == nil || numbers.allSatisfy({ $0 != nil })
        else {
            throw HallmarkError(.usage, "'\(text)' is not a version of an image; expected \(Self.accepted)")
        }
        (major, minor, patch) = (numbers[0], numbers[1], numbers[2])
    }

    /// Whether the selector names one build exactly.
    public var isExact: Bool { number != nil }

    public var description: String {
        let version = [major, minor, patch].map { $0.map(String.init) ?? "x" }.joined(separator: ".")
        return "\(image)@\(version)" + (number.map { "/\($0)" } ?? "")
    }
}
