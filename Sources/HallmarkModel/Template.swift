import Foundation
import HallmarkSupport

/// `{{ name }}` placeholders, the one reading of them: in component steps (`render`) and in
/// policies, whose loader checks each name and quotes values placed in shell text.
public enum Template {
    /// One `{{ … }}`: where it is in the text and the name inside it, without surrounding blanks.
    public struct Reference: Sendable {
        public var range: Range<String.Index>
        public var name: String
    }

    /// `text` with every reference replaced by what `value` gives for it; `unclosed` is thrown
    /// for a `{{` without a `}}` after it.
    public static func substitute(
        _ text: String, unclosed: @autoclosure () -> any Error,
        value: (Reference) throws -> String
    ) throws -> String {
        var result = ""
        var rest = text[...]
        while let open = rest.range(of: "{{") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { throw unclosed() }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            result += try value(Reference(range: open.lowerBound..<close.upperBound, name: name))
            rest = rest[close.upperBound...]
        }
        return result + rest
    }

    /// A component's `{{ name }}` placeholders, from `variables`.
    public static func render(_ text: String, variables: [String: String], at location: SourceLocation) throws -> String {
        try substitute(text, unclosed: HallmarkError.invalidInput("unclosed '{{' in '\(text)'; a reference is '{{ name }}'", at: location))
        { reference in
            guard let value = variables[reference.name] else {
                throw HallmarkError.invalidInput(
                    "unknown variable '{{ \(reference.name) }}'; known: \(variables.isEmpty ? "none" : variables.keys.sorted().joined(separator: ", "))",
                    at: location)
            }
            return value
        }
    }
}
