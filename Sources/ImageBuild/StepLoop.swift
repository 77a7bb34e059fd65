import Foundation
import HallmarkModel

/// A step's `loop` as the values of each iteration: `loop.index` and `loop.value` (and the
/// loop's own name in their place), rendered when the step is reached, so a loop over a
/// parameter or a chained output sees its value of this run.
enum StepLoop {
    struct Failure: Error {
        var message: String
    }

    /// Far above any real loop; a typo in `end` should fail, not run a million times.
    static let maximumIterations = 10_000

    /// One set of loop variables per iteration; a step without a loop runs once with none.
    static func iterations(of step: Component.Step, variables: [String: String]) throws -> [[String: String]] {
        guard let loop = step.loop else { return [[:]] }
        func render(_ value: InputValue) throws -> String {
            do { return try StepScript.render(value) { variables[$0] } } catch { throw Failure(message: "its loop: \(error)") }
        }
        var values: [String] = []
        switch loop.values {
        case .range(let start, let end, let updateBy):
            let numbers = try [start, end, updateBy].map { value -> Int in
                let text = try render(value)
                guard let number = Int(text.trimmingCharacters(in: .whitespaces)) else {
                    throw Failure(message: "its loop 'for' takes whole numbers, got '\(text)' at \(value.location)")
                }
                return number
            }
            let (first, last, by) = (numbers[0], numbers[1], numbers[2])
            guard by != 0, (last - first).signum() * by.signum() >= 0 else {
                throw Failure(message: "its loop 'for' from \(first) to \(last) by \(by) never reaches its end")
            }
            guard (last - first) / by < maximumIterations else {
                throw Failure(message: "its loop would run more than \(maximumIterations) times")
            }
            values = stride(from: first, through: last, by: by).map(String.init)
        case .list(let items):
            values = try items.map(render)
        case .delimited(let list, let delimiter):
            let separator = try render(delimiter)
            let text = try render(list)
            values = separator.isEmpty ? text.map(String.init) : text.components(separatedBy: separator)
        }
        return values.enumerated().map { index, value in
            var names = ["loop.index": String(index), "loop.value": value]
            if let name = loop.name {
                names["\(name).index"] = String(index)
                names["\(name).value"] = value
            }
            return names
        }
    }
}
