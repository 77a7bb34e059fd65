import Foundation

/// A Debian package version `[epoch:]upstream[-revision]`, ordered exactly as dpkg orders them
/// (`dpkg --compare-versions`): `~` sorts before everything, even the end of the string; letters
/// sort before other characters; runs of digits compare numerically.
public struct DebianVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var epoch: Int
    public var upstream: String
    public var revision: String

    /// Parses a version as dpkg does: the epoch is the digits before the first `:`, the revision
    /// is everything after the last `-`. Returns nil for what dpkg would reject.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.contains(where: { $0.isWhitespace }) else { return nil }
        var rest = Substring(trimmed)
        epoch = 0
        if let colon = rest.firstIndex(of: ":") {
            guard let value = Int(rest[..<colon]), value >= 0 else { return nil }
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        if let dash = rest.lastIndex(of: "-") {
            revision = String(rest[rest.index(after: dash)...])
            rest = rest[..<dash]
            guard !revision.isEmpty else { return nil }
        } else {
            revision = ""
        }
        upstream = String(rest)
        guard let first = upstream.unicodeScalars.first, CharacterSet.decimalDigits.contains(first) else { return nil }
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~-:")
        guard upstream.unicodeScalars.allSatisfy(allowed.contains),
            revision.unicodeScalars.allSatisfy({ allowed.contains($0) && $0 != "-" && $0 != ":" })
        else { return nil }
    }

    public var description: String {
        (epoch > 0 ? "\(epoch):" : "") + upstream + (revision.isEmpty ? "" : "-\(revision)")
    }

    public static func < (lhs: DebianVersion, rhs: DebianVersion) -> Bool { compare(lhs, rhs) < 0 }

    public static func == (lhs: DebianVersion, rhs: DebianVersion) -> Bool { compare(lhs, rhs) == 0 }

    public func hash(into hasher: inout Hasher) {
        // Equal versions may be spelt differently ("1.0" and "0:1.0"); hash only what cannot differ.
        hasher.combine(epoch)
    }

    /// -1, 0 or 1, as dpkg's `dpkg_version_compare`.
    public static func compare(_ lhs: DebianVersion, _ rhs: DebianVersion) -> Int {
        if lhs.epoch != rhs.epoch { return lhs.epoch < rhs.epoch ? -1 : 1 }
        let upstream = verrevcmp(Array(lhs.upstream.utf8), Array(rhs.upstream.utf8))
        if upstream != 0 { return upstream }
        return verrevcmp(Array(lhs.revision.utf8), Array(rhs.revision.utf8))
    }

    /// dpkg's `order()`: `~` first, then the end of a part, digits, letters, everything else.
    private static func order(_ character: UInt8?) -> Int {
        guard let character else { return 0 }
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return 0
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): return Int(character)
        case UInt8(ascii: "~"): return -1
        default: return Int(character) + 256
        }
    }

    private static func isDigit(_ character: UInt8) -> Bool {
        character >= UInt8(ascii: "0") && character <= UInt8(ascii: "9")
    }

    /// dpkg's `verrevcmp`: alternate non-digit runs (compared by `order`) and digit runs (compared as numbers).
    private static func verrevcmp(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0, j = 0
        while i < a.count || j < b.count {
            var firstDifference = 0
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ac = order(i < a.count ? a[i] : nil), bc = order(j < b.count ? b[j] : nil)
                if ac != bc { return ac < bc ? -1 : 1 }
                i += 1
                j += 1
            }
            while i < a.count && a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count && b[j] == UInt8(ascii: "0") { j += 1 }
            while i < a.count && isDigit(a[i]) && j < b.count && isDigit(b[j]) {
                if firstDifference == 0 { firstDifference = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.count && isDigit(a[i]) { return 1 }
            if j < b.count && isDigit(b[j]) { return -1 }
            if firstDifference != 0 { return firstDifference < 0 ? -1 : 1 }
        }
        return 0
    }
}

/// `>= 1:9.2`, `<< 2.0`, or several joined by commas (all must hold): a package version requirement.
public struct VersionConstraint: Sendable, Equatable, CustomStringConvertible {
    public enum Relation: String, Sendable, CaseIterable {
        /// `>>` and `>`: strictly later; `<<` and `<`: strictly earlier (unlike dpkg's deprecated `<`/`>`).
        case later = ">>", laterOrEqual = ">=", equal = "=", notEqual = "!=", earlierOrEqual = "<=", earlier = "<<"
    }

    public var terms: [(relation: Relation, version: DebianVersion)]

    public init?(_ text: String) {
        var terms: [(Relation, DebianVersion)] = []
        for part in text.split(separator: ",") {
            var rest = part.trimmingCharacters(in: .whitespaces)
            let spellings: [(String, Relation)] = [
                (">>", .later), (">=", .laterOrEqual), ("<<", .earlier), ("<=", .earlierOrEqual), ("!=", .notEqual),
                ("==", .equal), (">", .later), ("<", .earlier), ("=", .equal),
            ]
            guard let (spelling, relation) = spellings.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = String(rest.dropFirst(spelling.count))
            guard let version = DebianVersion(rest) else { return nil }
            terms.append((relation, version))
        }
        guard !terms.isEmpty else { return nil }
        self.terms = terms
    }

    public func isSatisfied(by version: DebianVersion) -> Bool {
        terms.allSatisfy { relation, bound in
            let order = DebianVersion.compare(version, bound)
            switch relation {
            case .later: return order > 0
            case .laterOrEqual: return order >= 0
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .earlierOrEqual: return order <= 0
            case .earlier: return order < 0
            }
        }
    }

    public var description: String { terms.map { "\($0.relation.rawValue) \($0.version)" }.joined(separator: ", ") }

    public static func == (lhs: VersionConstraint, rhs: VersionConstraint) -> Bool { lhs.description == rhs.description }
}
