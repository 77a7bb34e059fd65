import Foundation
import HallmarkSupport

/// Quoting a value for the place it is substituted into POSIX shell text.
enum ShellText {
    /// What encloses a point of shell text.
    enum Context: Equatable {
        /// Outside quotes, at the top level or inside `$( … )` (which counts its own parentheses).
        case unquoted(parentheses: Int, inSubstitution: Bool)
        case singleQuoted
        case doubleQuoted
        /// Inside `${ … }` or backquotes: nothing is substituted there, as the shell's rules are subtler.
        case braced
        case backquoted
    }

    /// `value` written so that the shell reads it as exactly that text at `position` of `text`, or
    /// nil when no quoting is safe there. Outside quotes it is single-quoted; inside double quotes
    /// `\`, `"`, `$` and backquote are escaped; inside single quotes (often another program's
    /// text, such as awk's) only values made of characters that need no quoting anywhere are kept.
    static func quote(_ value: String, at position: String.Index, in text: String) -> String? {
        switch context(at: position, in: text) {
        case .unquoted:
            return shellQuoted(value)
        case .doubleQuoted:
            var escaped = ""
            for character in value {
                if "\\\"$`".contains(character) { escaped.append("\\") }
                escaped.append(character)
            }
            return escaped
        case .singleQuoted:
            return !value.isEmpty && shellQuoted(value) == value ? value : nil
        case .braced, .backquoted:
            return nil
        }
    }

    /// The context at `position`, reading `text` from its start.
    static func context(at position: String.Index, in text: String) -> Context {
        var stack: [Context] = [.unquoted(parentheses: 0, inSubstitution: false)]
        var index = text.startIndex
        func next(_ offset: Int = 1) -> Character? {
            guard let after = text.index(index, offsetBy: offset, limitedBy: text.endIndex), after < text.endIndex else { return nil }
            return text[after]
        }
        while index < position, let top = stack.last {
            let character = text[index]
            var step = 1
            switch top {
            case .singleQuoted:
                if character == "'" { stack.removeLast() }
            case .doubleQuoted:
                if character == "\\" {
                    step = 2
                } else if character == "\"" {
                    stack.removeLast()
                } else if character == "$" && next() == "(" {
                    stack.append(.unquoted(parentheses: 0, inSubstitution: true)); step = 2
                } else if character == "$" && next() == "{" {
                    stack.append(.braced); step = 2
                } else if character == "`" {
                    stack.append(.backquoted)
                }
            case .unquoted(let parentheses, let inSubstitution):
                if character == "\\" {
                    step = 2
                } else if character == "'" {
                    stack.append(.singleQuoted)
                } else if character == "\"" {
                    stack.append(.doubleQuoted)
                } else if character == "$" && next() == "(" {
                    stack.append(.unquoted(parentheses: 0, inSubstitution: true)); step = 2
                } else if character == "$" && next() == "{" {
                    stack.append(.braced); step = 2
                } else if character == "`" {
                    stack.append(.backquoted)
                } else if inSubstitution && character == "(" {
                    stack[stack.count - 1] = .unquoted(parentheses: parentheses + 1, inSubstitution: true)
                } else if inSubstitution && character == ")" {
                    if parentheses == 0 {
                        stack.removeLast()
                    } else {
                        stack[stack.count - 1] = .unquoted(parentheses: parentheses - 1, inSubstitution: true)
                    }
                }
            case .braced:
                if character == "}" { stack.removeLast() }
            case .backquoted:
                if character == "\\" { step = 2 } else if character == "`" { stack.removeLast() }
            }
            index = text.index(index, offsetBy: step, limitedBy: text.endIndex) ?? text.endIndex
        }
        return stack.last ?? .braced
    }
}
