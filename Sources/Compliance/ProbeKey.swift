/// What a probe observes: a probe name and, for probes of one thing among many, what it is (a
/// path, a unit, a sysctl key, a command). Its one string coding, `name` or `name:argument`, is
/// the key of the probe's output in facts.json and in a policy test case's `facts:`.
public struct ProbeKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Without a colon: the coding splits at the first one.
    public let name: String
    public let argument: String?

    public init(_ name: String, _ argument: String? = nil) {
        precondition(!name.contains(":"), "a probe name holds no colon")
        self.name = name
        self.argument = argument
    }

    /// Reads the coding back; every string is some key, so facts under names no probe has are kept.
    public init(coded: String) {
        if let colon = coded.firstIndex(of: ":") {
            self.init(String(coded[..<colon]), String(coded[coded.index(after: colon)...]))
        } else {
            self.init(coded)
        }
    }

    public var description: String { argument.map { "\(name):\($0)" } ?? name }

    public static func < (lhs: ProbeKey, rhs: ProbeKey) -> Bool { lhs.description < rhs.description }
}

extension ProbeKey: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self.init(coded: value) }
}

/// Facts are a JSON object keyed by the coding.
extension ProbeKey: CodingKeyRepresentable {
    public var codingKey: any CodingKey { Coded(stringValue: description) }

    public init?<T: CodingKey>(codingKey: T) { self.init(coded: codingKey.stringValue) }

    private struct Coded: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }
}

extension ProbeKey: Codable {
    public init(from decoder: any Decoder) throws { self.init(coded: try decoder.singleValueContainer().decode(String.self)) }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
