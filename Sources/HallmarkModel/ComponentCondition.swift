import Foundation
import HallmarkSupport

extension Component {
    /// A step's `if`: TOE's comparison operators joined by `and`, `or` and `not`, and what to do
    /// when it holds (`then`, default Execute) or not (`else`, default Skip).
    public struct StepCondition: Sendable {
        public var expression: Condition
        public var then: Decision
        public var otherwise: Decision
        public var location: SourceLocation
    }

    /// What a step's `if` decides: TOE's step actions.
    public enum Decision: String, Sendable {
        case execute = "Execute", skip = "Skip", abort = "Abort"
    }

    public indirect enum Condition: Sendable {
        case and([Condition])
        case or([Condition])
        case not(Condition)
        /// `operator: operand` with its second value (`value`, or `path` for a file hash), each
        /// rendered with the step's variables when the step is reached.
        case compare(ComparisonOperator, operand: InputValue, value: InputValue?)
    }

    /// The comparison operators of the TOE guide.
    public enum ComparisonOperator: String, Sendable, CaseIterable {
        case stringIsEmpty, stringIsWhitespace, stringEquals, stringLessThan, stringLessThanEquals
        case stringGreaterThan, stringGreaterThanEquals, patternMatches
        case numberEquals, numberLessThan, numberLessThanEquals, numberGreaterThan, numberGreaterThanEquals
        case fileMD5Equals, fileSHA1Equals, fileSHA256Equals, fileSHA512Equals
        case semanticVersionEquals, semanticVersionLessThan, semanticVersionLessThanEquals
        case semanticVersionGreaterThan, semanticVersionGreaterThanEquals
        case binaryExists, fileExists, folderExists

        /// The key of the second value, or nil for operators on one value.
        public var secondKey: String? {
            switch self {
            case .stringIsEmpty, .stringIsWhitespace, .binaryExists, .fileExists, .folderExists: nil
            case .fileMD5Equals, .fileSHA1Equals, .fileSHA256Equals, .fileSHA512Equals: "path"
            default: "value"
            }
        }
    }

    /// TOE refuses logical operators nested deeper than four levels.
    static let maximumConditionDepth = 4

    static func parseStepCondition(_ input: YAMLInput, problems: inout [HallmarkError]) -> StepCondition? {
        guard case .mapping = input.node else {
            problems.append(input.error("'if' must be a mapping: a comparison or logical operator, with optional 'then' and 'else'"))
            return nil
        }
        var decisions: [String: Decision] = [:]
        for key in ["then", "else"] {
            guard let text = (try? input.freeMapping())?.first(where: { $0.key == key })?.value else { continue }
            guard let decision = Decision(rawValue: (try? text.string()) ?? "") else {
                problems.append(text.error("'\(key)' must be Execute, Skip or Abort, got '\((try? text.string()) ?? "")'"))
                continue
            }
            decisions[key] = decision
        }
        guard let expression = parseCondition(input, depth: 0, ignoring: ["then", "else"], problems: &problems) else { return nil }
        return StepCondition(
            expression: expression, then: decisions["then"] ?? .execute, otherwise: decisions["else"] ?? .skip, location: input.location)
    }

    static func parseCondition(_ input: YAMLInput, depth: Int, ignoring: Set<String> = [], problems: inout [HallmarkError])
        -> Condition?
    {
        let operators = ["and", "or", "not"] + ComparisonOperator.allCases.map(\.rawValue)
        guard let entries = try? input.freeMapping() else {
            problems.append(input.error("a condition must be a mapping with one operator: \(operators.joined(separator: ", "))"))
            return nil
        }
        let keys = entries.map(\.key).filter { !ignoring.contains($0) }
        guard let operatorName = keys.first(where: { operators.contains($0) }),
            let body = entries.first(where: { $0.key == operatorName })?.value
        else {
            problems.append(input.error("a condition needs one operator: \(operators.joined(separator: ", "))"))
            return nil
        }
        switch operatorName {
        case "and", "or", "not":
            if let extra = keys.first(where: { $0 != operatorName }) {
                problems.append(input.error("unknown key '\(extra)' beside '\(operatorName)' in a condition"))
            }
            guard depth < maximumConditionDepth else {
                problems.append(input.error("logical operators nest deeper than \(maximumConditionDepth) levels, which TOE refuses"))
                return nil
            }
            if operatorName == "not" {
                return parseCondition(body, depth: depth + 1, problems: &problems).map(Condition.not)
            }
            guard let items = try? body.sequence(), !items.isEmpty else {
                problems.append(body.error("'\(operatorName)' takes a list of conditions"))
                return nil
            }
            let conditions = items.compactMap { parseCondition($0, depth: depth + 1, problems: &problems) }
            guard conditions.count == items.count else { return nil }
            return operatorName == "and" ? .and(conditions) : .or(conditions)
        default:
            let comparison = ComparisonOperator(rawValue: operatorName)!
            let allowed = [operatorName] + (comparison.secondKey.map { [$0] } ?? [])
            for key in keys where !allowed.contains(key) {
                problems.append(
                    input.error("unknown key '\(key)' in a '\(operatorName)' condition; expected: \(allowed.joined(separator: ", "))"))
            }
            guard let operand = try? body.value(), operand.string != nil else {
                problems.append(body.error("'\(operatorName)' takes one value (a string)"))
                return nil
            }
            var second: InputValue?
            if let key = comparison.secondKey {
                guard let value = entries.first(where: { $0.key == key })?.value, let parsed = try? value.value(), parsed.string != nil
                else {
                    problems.append(input.error("'\(operatorName)' needs '\(key)', a string"))
                    return nil
                }
                second = parsed
            }
            return .compare(comparison, operand: operand, value: second)
        }
    }
}

extension Component.Condition {
    /// Every value the condition reads, for reference checks.
    public var values: [InputValue] {
        switch self {
        case .and(let items), .or(let items): items.flatMap(\.values)
        case .not(let item): item.values
        case .compare(_, let operand, let value): [operand] + (value.map { [$0] } ?? [])
        }
    }
}
