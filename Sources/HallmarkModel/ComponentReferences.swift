import Foundation
import HallmarkSupport

/// The `{{ }}` references of a document, checked when it is loaded as `awstoe validate` checks
/// them: each names a parameter or constant, the step's own loop, or an input or output of a
/// step the document has (`{{ build.Download.outputs.stdout }}`, `{{ build.Make.inputs[0].path }}`).
public enum ComponentReferences {
    static func problems(in component: Component, parameterNames: [String]) -> [HallmarkError] {
        var problems: [HallmarkError] = []
        let steps = Set(component.phases.flatMap { phase in phase.steps.map { "\(phase.name).\($0.name)" } })
        for phase in component.phases {
            for (index, step) in phase.steps.enumerated() {
                let earlier = Set(phase.steps[..<index].map { "\(phase.name).\($0.name)" })
                var names = Set(parameterNames)
                if let loop = step.loop {
                    for prefix in ["loop"] + (loop.name.map { [$0] } ?? []) {
                        names.insert("\(prefix).index")
                        names.insert("\(prefix).value")
                    }
                }
                for (text, location) in texts(of: step) {
                    do {
                        _ = try Template.substitute(
                            text,
                            unclosed: HallmarkError.invalidInput("unclosed '{{' in '\(text)'; a reference is '{{ name }}'", at: location)
                        ) { reference in
                            if let problem = check(
                                reference.name, names: names, steps: steps, earlier: earlier, phase: phase.name, step: step.name)
                            {
                                problems.append(.invalidInput(problem, at: location))
                            }
                            return ""
                        }
                    } catch let error as HallmarkError {
                        problems.append(error)
                    } catch {}
                }
            }
        }
        return problems
    }

    /// What is wrong with a reference, or nil when it names something the document has.
    static func check(_ name: String, names: Set<String>, steps: Set<String>, earlier: Set<String>, phase: String, step: String)
        -> String?
    {
        if names.contains(name) { return nil }
        // Resolved when the component runs, from the recipe's secrets: or Parameter Store.
        if SecretReference.parameterName(name) != nil { return nil }
        if name.hasPrefix("aws:") {
            return "step '\(step)': dynamic reference '{{ \(name) }}' is not supported; Hallmark resolves aws:ssm:resolve(NAME)"
        }
        // phase.step.outputs.key or phase.step.inputs[index].key / phase.step.inputs.key
        let parts = name.split(separator: ".", maxSplits: 2).map(String.init)
        if parts.count == 3, parts[2].hasPrefix("outputs.") || parts[2].hasPrefix("inputs") {
            let target = "\(parts[0]).\(parts[1])"
            guard steps.contains(target) else {
                return
                    "step '\(step)': '{{ \(name) }}' chains to step '\(parts[1])' of phase '\(parts[0])', which the document does not have"
            }
            // Build and validate run in one tree, in that order; the test phase runs later in the
            // booted guest, where the build's values are not.
            if earlier.contains(target) || (phase == "validate" && parts[0] == "build") { return nil }
            if phase == "test" {
                return
                    "step '\(step)': '{{ \(name) }}' chains to phase '\(parts[0])', which the test phase cannot see: it runs in the booted guest, apart from the build"
            }
            return
                "step '\(step)': '{{ \(name) }}' chains to step '\(parts[1])' of phase '\(parts[0])', which has not run when this step runs"
        }
        let known = names.sorted()
        return "step '\(step)': undeclared reference '{{ \(name) }}'; declared: \(known.isEmpty ? "none" : known.joined(separator: ", "))"
    }

    /// Every text of a step that may hold `{{ }}` references: its inputs, its `if` and its loop.
    public static func texts(of step: Component.Step) -> [(String, SourceLocation)] {
        var values = step.inputs.map(strings) ?? []
        values += step.condition?.expression.values.flatMap(strings) ?? []
        switch step.loop?.values {
        case .range(let start, let end, let updateBy): values += [start, end, updateBy].flatMap(strings)
        case .list(let items): values += items.flatMap(strings)
        case .delimited(let list, let delimiter): values += [list, delimiter].flatMap(strings)
        case nil: break
        }
        return values
    }

    /// Every string of a value tree with where it is.
    static func strings(_ value: InputValue) -> [(String, SourceLocation)] {
        switch value {
        case .string(let text, let location): [(text, location)]
        case .list(let items, _): items.flatMap(strings)
        case .map(let entries, _): entries.flatMap { strings($0.1) }
        }
    }
}
