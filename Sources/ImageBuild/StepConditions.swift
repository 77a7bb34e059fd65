import Foundation
import HallmarkModel
import HallmarkSupport

/// Evaluates a step's `if` as TOE does: values rendered with the step's variables; what the
/// machine has (binaries, files, folders, file hashes) asked of the executor the step runs on,
/// so the answer is the image's (the chroot's or the guest's), never the host's.
enum StepConditions {
    static let probeTimeout = Duration.seconds(60)

    static func evaluate(_ condition: Component.Condition, variables: [String: String], on executor: some StepExecutor) async throws
        -> Bool
    {
        switch condition {
        case .and(let items):
            for item in items where !(try await evaluate(item, variables: variables, on: executor)) { return false }
            return true
        case .or(let items):
            for item in items where try await evaluate(item, variables: variables, on: executor) { return true }
            return false
        case .not(let item):
            return !(try await evaluate(item, variables: variables, on: executor))
        case .compare(let comparison, let operandValue, let secondValue):
            let operand = try StepScript.render(operandValue) { variables[$0] }
            let second = try secondValue.map { try StepScript.render($0) { variables[$0] } } ?? ""
            if let answer = compare(comparison, operand, second) { return answer }
            return try await probe(comparison, operand, second, on: executor)
        }
    }

    /// Comparisons of values alone; nil for those that ask the machine.
    static func compare(_ comparison: Component.ComparisonOperator, _ operand: String, _ value: String) -> Bool? {
        func ordered(_ order: ComparisonResult?, _ accepted: [ComparisonResult]) -> Bool {
            order.map(accepted.contains) ?? false
        }
        let text = operand.caseInsensitiveCompare(value)
        let number: ComparisonResult? = {
            guard let a = Double(operand.trimmingCharacters(in: .whitespaces)), let b = Double(value.trimmingCharacters(in: .whitespaces))
            else { return nil }
            return a < b ? .orderedAscending : a > b ? .orderedDescending : .orderedSame
        }()
        let version = semanticOrder(operand, value)
        switch comparison {
        case .stringIsEmpty: return operand.isEmpty
        case .stringIsWhitespace: return !operand.isEmpty && operand.allSatisfy(\.isWhitespace)
        case .stringEquals: return operand == value
        // The guide: `stringLessThan: a` with `value: b` asks whether a < b, ignoring case; numbers and versions likewise.
        case .stringLessThan: return text == .orderedAscending
        case .stringLessThanEquals: return text != .orderedDescending
        case .stringGreaterThan: return text == .orderedDescending
        case .stringGreaterThanEquals: return text != .orderedAscending
        case .patternMatches: return value.range(of: operand, options: .regularExpression) != nil
        case .numberEquals: return ordered(number, [.orderedSame])
        case .numberLessThan: return ordered(number, [.orderedAscending])
        case .numberLessThanEquals: return ordered(number, [.orderedAscending, .orderedSame])
        case .numberGreaterThan: return ordered(number, [.orderedDescending])
        case .numberGreaterThanEquals: return ordered(number, [.orderedDescending, .orderedSame])
        case .semanticVersionEquals: return ordered(version, [.orderedSame])
        case .semanticVersionLessThan: return ordered(version, [.orderedAscending])
        case .semanticVersionLessThanEquals: return ordered(version, [.orderedAscending, .orderedSame])
        case .semanticVersionGreaterThan: return ordered(version, [.orderedDescending])
        case .semanticVersionGreaterThanEquals: return ordered(version, [.orderedDescending, .orderedSame])
        case .binaryExists, .fileExists, .folderExists, .fileMD5Equals, .fileSHA1Equals, .fileSHA256Equals, .fileSHA512Equals:
            return nil
        }
    }

    /// `a` against `b` as MAJOR.MINOR.PATCH; nil when either is not one.
    static func semanticOrder(_ a: String, _ b: String) -> ComparisonResult? {
        func parts(_ text: String) -> [Int]? {
            let core = text.split(separator: "-", maxSplits: 1).first.map(String.init) ?? text
            let numbers = core.split(separator: ".").map { Int($0) }
            guard numbers.count == 3, numbers.allSatisfy({ $0 != nil }) else { return nil }
            return numbers.compactMap { $0 }
        }
        guard let x = parts(a), let y = parts(b) else { return nil }
        for (p, q) in zip(x, y) where p != q { return p < q ? .orderedAscending : .orderedDescending }
        return .orderedSame
    }

    private static func probe(
        _ comparison: Component.ComparisonOperator, _ operand: String, _ second: String, on executor: some StepExecutor
    )
        async throws -> Bool
    {
        let script: String
        switch comparison {
        case .binaryExists: script = "command -v -- \(shellQuoted(operand)) >/dev/null 2>&1"
        case .fileExists: script = "test -f \(shellQuoted(operand))"
        case .folderExists: script = "test -d \(shellQuoted(operand))"
        case .fileMD5Equals, .fileSHA1Equals, .fileSHA256Equals, .fileSHA512Equals:
            let tool = [
                "fileMD5Equals": "md5sum", "fileSHA1Equals": "sha1sum", "fileSHA256Equals": "sha256sum", "fileSHA512Equals": "sha512sum",
            ][
                comparison.rawValue]!
            let output = try await executor.run(bashScript: "\(tool) -- \(shellQuoted(second))", timeout: probeTimeout)
            guard output.exitCode == 0, let hash = output.stdout.split(separator: " ").first else { return false }
            return hash.lowercased() == operand.lowercased()
        default: return false
        }
        return try await executor.run(bashScript: script, timeout: probeTimeout).exitCode == 0
    }
}
