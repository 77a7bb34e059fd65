import Foundation
import HallmarkSupport
import Yams

/// A node of a user's YAML file together with where it came from, so every error can name
/// `file:line:column`. Scalars are always read from their source text, which keeps YAML 1.1's
/// `no`/`yes`/`on`/`off` as the strings the user wrote.
public struct YAMLInput {
    public let node: Node
    public let file: String
    /// What this node is, for messages: "recipe", "step 'x'", "key 'parent'".
    public let context: String

    public init(node: Node, file: String, context: String) {
        self.node = node
        self.file = file
        self.context = context
    }

    /// Whether a file may share nodes through YAML anchors (`&name`) and aliases (`*name`).
    /// Each alias stands for a whole copy of its anchor's node, so a few hundred bytes of
    /// nested aliases expand to billions of nodes for whoever walks the tree.
    public enum Aliases: Sendable {
        /// Hallmark's own formats (recipes, policies, waivers) have no use for them.
        case refused
        /// TOE component documents are plain YAML written for AWS's tools and may use them;
        /// the expanded tree is bounded instead.
        case bounded(nodes: Int, depth: Int)

        /// Far above any real component (a few hundred nodes), far below what hurts.
        public static let componentLimit = Aliases.bounded(nodes: 100_000, depth: 64)
    }

    /// Parses a whole file; syntax errors carry the parser's line and column.
    public static func load(path: String, context: String, aliases: Aliases = .refused) throws -> YAMLInput {
        let text = try UserFile.readText(path, what: context)
        return try parse(text, file: path, context: context, aliases: aliases)
    }

    public static func parse(_ text: String, file: String, context: String, aliases: Aliases = .refused) throws -> YAMLInput {
        let parser: Parser
        let node: Node
        do {
            parser = try Parser(yaml: text)
            guard let composed = try parser.singleRoot() else {
                throw HallmarkError.invalidInput("\(context) file is empty", at: SourceLocation(file: file, line: 1, column: 1))
            }
            node = composed
        } catch let error as YamlError {
            throw YAMLSyntax.error(error, text: text, file: file)
        }
        let input = YAMLInput(node: node, file: file, context: context)
        switch aliases {
        case .refused:
            // Nodes hold their anchor weakly; the parser keeps every anchor alive.
            try withExtendedLifetime(parser) { try input.refuseAnchors(depth: 0) }
        case .bounded(let nodes, let depth):
            var budget = nodes
            try input.checkExpansion(depth: 0, maxDepth: depth, budget: &budget, maxNodes: nodes)
        }
        return input
    }

    /// The composer resolves an alias to its anchor's node, anchor name included, so the first
    /// anchored node met in document order is the anchor itself; stopping there keeps the walk
    /// as small as the text.
    private func refuseAnchors(depth: Int) throws {
        if let anchor = node.anchor {
            throw error(
                "YAML anchors and aliases are not allowed in \(context) files (found anchor '&\(anchor.rawValue)'); write the value out")
        }
        guard depth < Self.maximumDepth else { throw error("\(context) file nests deeper than \(Self.maximumDepth) levels") }
        for child in children { try YAMLInput(node: child, file: file, context: context).refuseAnchors(depth: depth + 1) }
    }

    private func checkExpansion(depth: Int, maxDepth: Int, budget: inout Int, maxNodes: Int) throws {
        budget -= 1
        guard budget >= 0 else {
            throw error("\(context) file expands to more than \(maxNodes) YAML nodes (anchors and aliases count once per use)")
        }
        guard depth < maxDepth else { throw error("\(context) file nests deeper than \(maxDepth) levels") }
        for child in children {
            try YAMLInput(node: child, file: file, context: context)
                .checkExpansion(depth: depth + 1, maxDepth: maxDepth, budget: &budget, maxNodes: maxNodes)
        }
    }

    /// Deeper than any recipe, policy or waiver needs.
    private static let maximumDepth = 64

    private var children: [Node] {
        switch node {
        case .scalar, .alias: return []
        case .sequence(let sequence): return Array(sequence)
        case .mapping(let mapping): return mapping.flatMap { [$0.key, $0.value] }
        }
    }

    public var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line, column: node.mark?.column)
    }

    public func error(_ message: String) -> HallmarkError {
        .invalidInput(message, at: location)
    }

    // MARK: Mappings

    /// The mapping's entries, rejecting keys outside `allowed` and duplicates, each at its own position.
    public func mapping(allowed: [String]) throws -> Mapping {
        try mapping(allowed: allowed) { throw $0 }
    }

    /// The mapping's entries; each unknown or duplicate key goes to `report` (which may throw to
    /// stop at the first, or collect them all) and is skipped.
    func mapping(allowed: [String], report: (HallmarkError) throws -> Void) throws -> Mapping {
        guard case .mapping(let mapping) = node else {
            throw error("\(context) must be a mapping with keys: \(allowed.joined(separator: ", "))")
        }
        var entries: [(key: String, location: SourceLocation, value: YAMLInput)] = []
        for (keyNode, valueNode) in mapping {
            let key = keyNode.scalar?.string ?? ""
            let keyLocation = SourceLocation(file: file, line: keyNode.mark?.line, column: keyNode.mark?.column)
            guard allowed.contains(key) else {
                try report(
                    HallmarkError.invalidInput(
                        "unknown key '\(key)' in \(context); expected one of: \(allowed.joined(separator: ", "))", at: keyLocation))
                continue
            }
            if entries.contains(where: { $0.key == key }) {
                try report(HallmarkError.invalidInput("duplicate key '\(key)' in \(context)", at: keyLocation))
                continue
            }
            entries.append((key, keyLocation, YAMLInput(node: valueNode, file: file, context: "'\(key)'")))
        }
        return Mapping(owner: self, entries: entries)
    }

    /// Where `key` of this mapping is written; nil when it is not a mapping or has no such key.
    public func location(ofKey key: String) -> SourceLocation? {
        guard case .mapping(let mapping) = node, let keyNode = mapping.keys.first(where: { $0.scalar?.string == key }) else {
            return nil
        }
        return SourceLocation(file: file, line: keyNode.mark?.line, column: keyNode.mark?.column)
    }

    /// A mapping whose keys are user-chosen names (parameters, variables).
    public func freeMapping() throws -> [(key: String, value: YAMLInput)] {
        guard case .mapping(let mapping) = node else { throw error("\(context) must be a mapping") }
        return mapping.map { keyNode, valueNode in
            let key = keyNode.scalar?.string ?? ""
            return (key, YAMLInput(node: valueNode, file: file, context: "'\(key)'"))
        }
    }

    public struct Mapping {
        let owner: YAMLInput
        let entries: [(key: String, location: SourceLocation, value: YAMLInput)]

        public subscript(_ key: String) -> YAMLInput? {
            entries.first { $0.key == key }?.value
        }

        public var keys: [String] { entries.map(\.key) }

        public func required(_ key: String) throws -> YAMLInput {
            guard let value = self[key] else { throw owner.error("\(owner.context) is missing the required key '\(key)'") }
            return value
        }
    }

    // MARK: Scalars and sequences

    public func string() throws -> String {
        guard case .scalar(let scalar) = node else { throw error("\(context) must be a single value (a string)") }
        return scalar.string
    }

    public func int() throws -> Int {
        guard let value = Int(try string()) else { throw error("\(context) must be a whole number, got '\(try string())'") }
        return value
    }

    /// A whole number in `range`; a number too large for 64 bits is out of range, not a trap.
    public func int(in range: ClosedRange<Int>, _ name: String) throws -> Int {
        let text = try string()
        guard let value = Int(text), range.contains(value) else {
            throw error("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    public func bool() throws -> Bool {
        switch try string().lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("\(context) must be true or false, got '\(try string())'")
        }
    }

    public func sequence() throws -> [YAMLInput] {
        guard case .sequence(let sequence) = node else { throw error("\(context) must be a list") }
        return sequence.enumerated().map { index, item in
            YAMLInput(node: item, file: file, context: "item \(index + 1) of \(context)")
        }
    }

    public func strings() throws -> [String] { try sequence().map { try $0.string() } }

    /// A string, or a list of strings (`references: {nist: AC-3}` or `nist: [AC-3, AC-6]`).
    public func oneOrMoreStrings() throws -> [String] {
        if case .sequence = node { return try strings() }
        return [try string()]
    }

    public var isNull: Bool {
        if case .scalar(let scalar) = node {
            return scalar.tag.description.hasSuffix("null") || (scalar.string.isEmpty && scalar.style == .plain) || scalar.string == "~"
        }
        return false
    }

    /// The node as a plain value tree (for component inputs, which each action reads its own way).
    public func value() throws -> InputValue {
        switch node {
        case .scalar(let scalar): return .string(scalar.string, location)
        case .sequence: return .list(try sequence().map { try $0.value() }, location)
        case .mapping: return .map(try freeMapping().map { ($0.key, try $0.value.value()) }, location)
        case .alias: throw error("YAML aliases are not supported in \(context)")
        }
    }
}

/// A plain YAML value tree with positions, used for TOE step inputs.
public indirect enum InputValue: Sendable {
    case string(String, SourceLocation)
    case list([InputValue], SourceLocation)
    case map([(String, InputValue)], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .string(_, let location), .list(_, let location), .map(_, let location): return location
        }
    }

    public var string: String? {
        if case .string(let value, _) = self { return value }
        return nil
    }

    public var list: [InputValue]? {
        if case .list(let value, _) = self { return value }
        return nil
    }

    public subscript(_ key: String) -> InputValue? {
        if case .map(let entries, _) = self { return entries.first { $0.0 == key }?.1 }
        return nil
    }

    public var keys: [String] {
        if case .map(let entries, _) = self { return entries.map(\.0) }
        return []
    }
}

/// Yams' errors as one line at the offending position; their own descriptions carry the whole file.
enum YAMLSyntax {
    static func error(_ error: YamlError, text: String, file: String) -> HallmarkError {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            return syntaxError(problem: problem, context: context, mark: mark, text: text, file: file)
        case .reader(let problem, let offset, let value, _):
            let location = UserFile.position(ofByte: offset ?? 0, in: Array(text.utf8), file: file)
            let character = value >= 0 ? String(format: " U+%04X", value) : ""
            return .invalidInput(
                "invalid YAML: \(problem)\(character); remove the character or write it as an escape in a double-quoted string",
                at: location)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let key = duplicates.first ?? ""
            let first = context.mark
            return .invalidInput(
                "duplicate key '\(key)' (first at line \(first.line), column \(first.column)); each key may appear once in a mapping",
                at: at(duplicateMark(of: key, first: first, in: text) ?? first))
        case .dataCouldNotBeDecoded:
            return .invalidInput("the file is not UTF-8 text; save it as UTF-8", at: SourceLocation(file: file))
        case .no, .memory, .writer, .emitter, .representer:
            return .invalidInput("cannot parse the YAML (\(error)); expected one YAML document", at: SourceLocation(file: file))
        }
    }

    /// libyaml's problem with what to do about it; an unclosed quote is shown where it opens.
    private static func syntaxError(problem: String, context: YamlError.Context?, mark: Mark, text: String, file: String)
        -> HallmarkError
    {
        var location = SourceLocation(file: file, line: mark.line, column: mark.column)
        var message = "invalid YAML: \(problem)"
        if let context, !context.text.isEmpty {
            message += " \(context.text) (from line \(context.mark.line), column \(context.mark.column))"
        }
        let hint: String
        if character(at: mark, in: text) == "\t" {
            message = "invalid YAML: a tab character here"
            hint = "YAML indents with spaces only"
        } else if let context, context.text.contains("quoted scalar"), problem.contains("end of stream") || problem.contains("document") {
            location = SourceLocation(file: file, line: context.mark.line, column: context.mark.column)
            message = "invalid YAML: this quoted string is never closed (\(problem) at line \(mark.line), column \(mark.column))"
            hint = "end it with the same quote it starts with"
        } else if let context, problem.contains("did not find expected ','"), context.text.contains("flow") {
            // An unclosed `[` or `{` is found only where the text stops fitting; it opened here.
            location = SourceLocation(file: file, line: context.mark.line, column: context.mark.column)
            let kind = context.text.contains("sequence") ? "list ('[')" : "mapping ('{')"
            message =
                "invalid YAML: this flow \(kind) is not closed, or two of its items lack a ',' between them (\(problem) at line \(mark.line), column \(mark.column))"
            hint = "close it on the same line, or separate its items with ','"
        } else if problem.contains("mapping values are not allowed") {
            hint = "quote a value that contains ': ', or indent a nested mapping on its own line"
        } else if problem.contains("did not find expected") || problem.contains("expected <block end>") {
            hint = "check the indentation: the keys of one mapping start in the same column, list items ('- ') too"
        } else if problem.contains("single document") {
            hint = "a file holds one YAML document (no second '---')"
        } else {
            hint = "fix the YAML syntax at this position"
        }
        return .invalidInput("\(message); \(hint)", at: location)
    }

    private static func character(at mark: Mark, in text: String) -> Character? {
        let lines = text.split(separator: "\n", maxSplits: mark.line, omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        let scalars = Array(lines[mark.line - 1].unicodeScalars)
        guard mark.column >= 1, mark.column <= scalars.count else { return nil }
        return Character(scalars[mark.column - 1])
    }

    /// Yams names only the first of two equal keys. Writing a placeholder of the same length over
    /// it (so no other position moves) and parsing again finds the second, with its own mark.
    static func duplicateMark(of key: String, first: Mark, in text: String) -> Mark? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        let keyScalars = Array(key.unicodeScalars)
        let start = first.column - 1
        guard first.line >= 1, first.line <= lines.count, !keyScalars.isEmpty, start >= 0,
            start + keyScalars.count <= lines[first.line - 1].count,
            Array(lines[first.line - 1][start..<start + keyScalars.count]) == keyScalars
        else { return nil }
        // A private-use character: valid in a plain scalar, and in no real key.
        let placeholder = String(repeating: "\u{E000}", count: keyScalars.count)
        lines[first.line - 1].replaceSubrange(start..<start + keyScalars.count, with: placeholder.unicodeScalars)
        let edited = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
        do {
            guard let root = try Parser(yaml: edited).singleRoot() else { return nil }
            var budget = 100_000
            return findKey(key, besides: placeholder, in: root, depth: 0, budget: &budget)
        } catch YamlError.duplicatedKeysInMapping(let again, let context) where again.first == key {
            // A third occurrence: the one named now is the second.
            return context.mark
        } catch {
            return nil
        }
    }

    private static func findKey(_ key: String, besides placeholder: String, in node: Node, depth: Int, budget: inout Int) -> Mark? {
        budget -= 1
        guard budget > 0, depth < 64 else { return nil }
        switch node {
        case .scalar, .alias: return nil
        case .sequence(let sequence):
            for item in sequence {
                if let found = findKey(key, besides: placeholder, in: item, depth: depth + 1, budget: &budget) { return found }
            }
            return nil
        case .mapping(let mapping):
            if mapping.keys.contains(where: { $0.string == placeholder }) {
                return mapping.keys.first { $0.string == key }?.mark
            }
            for (keyNode, value) in mapping {
                for child in [keyNode, value] {
                    if let found = findKey(key, besides: placeholder, in: child, depth: depth + 1, budget: &budget) { return found }
                }
            }
            return nil
        }
    }
}
