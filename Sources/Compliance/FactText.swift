import Foundation
import HallmarkModel
import Synchronization

// Reading facts: what every resource's parser uses. Free functions, so the rules read as before.

/// A fact that does not read as the program that printed it writes it.
struct UnexpectedFact: Error {
    var message: String
}

func match(_ matcher: Matcher, _ value: String) -> Bool {
    switch matcher {
    case .equals(let expected): return value == expected
    case .not(let unexpected): return value != unexpected
    case .matches(let pattern): return firstMatch(pattern, in: value) != nil
    case .notMatches(let pattern): return firstMatch(pattern, in: value) == nil
    case .oneOf(let values): return values.contains(value)
    case .compare(let comparison, let bound):
        guard let number = decimalNumber(value) else { return false }
        switch comparison {
        case .lt: return number < bound
        case .le: return number <= bound
        case .gt: return number > bound
        case .ge: return number >= bound
        }
    }
}

/// A plain decimal number ("30", "-1", "0.5"); nil for anything else, including what
/// `Double.init` would also take ("inf", "nan", "0x1e", "1e9").
func decimalNumber(_ text: String) -> Double? {
    var digits = Substring(text)
    if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
    let parts = digits.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else { return nil }
    return Double(text)
}

/// Policies' patterns, compiled once: a policy file holds few, evaluated against many facts.
private let compiledPatterns = Mutex<[String: CompiledPattern]>([:])

private struct CompiledPattern: @unchecked Sendable {
    // NSRegularExpression is immutable once made, and documented safe to share between threads.
    let regex: NSRegularExpression?
}

func compiledPattern(_ pattern: String) -> NSRegularExpression? {
    if let known = compiledPatterns.withLock({ $0[pattern] }) { return known.regex }
    let compiled = CompiledPattern(regex: try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]))
    compiledPatterns.withLock { $0[pattern] = compiled }
    return compiled.regex
}

/// The first line matching the pattern (anchors match at line boundaries), or nil.
func firstMatch(_ pattern: String, in text: String) -> String? {
    guard let regex = compiledPattern(pattern) else { return nil }
    let range = NSRange(text.startIndex..., in: text)
    guard let found = regex.firstMatch(in: text, range: range), let swiftRange = Range(found.range, in: text) else { return nil }
    let lineRange = text.lineRange(for: swiftRange)
    return String(text[lineRange]).trimmingCharacters(in: .newlines)
}

func lines(_ text: String) -> [String] {
    text.split(separator: "\n").map { String(trimmed($0, isBlank)) }.filter { !$0.isEmpty }
}

/// Blanks as `CharacterSet.whitespaces` has them (spaces and tab, not line ends).
func isBlank(_ character: Character) -> Bool { character.isWhitespace && !character.isNewline }

/// `text` without leading and trailing characters that `isTrimmed`; the same as Foundation's
/// trimming, which costs a bridge to NSString on every line of every fact.
func trimmed(_ text: Substring, _ isTrimmed: (Character) -> Bool) -> Substring {
    guard let first = text.firstIndex(where: { !isTrimmed($0) }), let last = text.lastIndex(where: { !isTrimmed($0) }) else { return "" }
    return text[first...last]
}

/// Trims and collapses runs of blanks (sysctl prints tabs between multiple values).
func normalizeWhitespace(_ text: String) -> String {
    trimmed(Substring(text), \.isWhitespace).split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
}

/// Evidence is kept short in reports; the full facts are in facts.json.
func excerpt(_ text: String, limit: Int = 600) -> String {
    let kept = trimmed(Substring(text), \.isWhitespace)
    let head = kept.prefix(limit + 1)
    return head.count <= limit ? String(head) : String(kept.prefix(limit)) + "… (truncated; see facts.json)"
}
