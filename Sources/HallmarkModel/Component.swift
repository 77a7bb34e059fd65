import Foundation
import HallmarkSupport

/// An AWS TOE component document (`schemaVersion: 1.0`), accepted as users already write them.
public struct Component: Sendable {
    /// The document's `name`, or its file name without extension when it has none (TOE: optional).
    public var name: String
    public var description: String?
    public var parameters: [Parameter]
    public var constants: [String: String]
    /// In document order, which is the order TOE runs them in.
    public var phases: [Phase]
    public var path: String
    public var digest: String
    /// The documents its ExecuteDocument steps run, by the `document` input as written.
    public var documents: [String: Component] = [:]

    public struct Parameter: Sendable {
        public var name: String
        public var type: String
        public var defaultValue: String?
        public var description: String?
        public var location: SourceLocation
    }

    public struct Phase: Sendable {
        /// build, validate and test are the phases Hallmark runs in a build and a test; TOE allows
        /// others (`container-host-test`), which `hallmark component run --phase` can run.
        public var name: String
        public var steps: [Step]
        public var location: SourceLocation
    }

    public enum PhaseName: String, Sendable, CaseIterable {
        case build, validate, test
    }

    public struct Step: Sendable {
        public var name: String
        public var action: Action
        public var inputs: InputValue?
        public var onFailure: OnFailure
        public var maxAttempts: Int
        /// nil: no timeout (`timeoutSeconds: -1`).
        public var timeoutSeconds: Int?
        public var loop: Loop?
        public var condition: StepCondition?
        /// Assert's inputs, read as a condition.
        public var assertion: Condition?
        /// TOE's `disableLogging`: the step's inputs and output stay out of logs.
        public var disableLogging: Bool
        public var location: SourceLocation
    }

    /// A step's `loop`: the step runs once per value, `{{ loop.index }}` and `{{ loop.value }}`
    /// (or `{{ name.index }}`, `{{ name.value }}`) naming the current one.
    public struct Loop: Sendable {
        public enum Values: Sendable {
            /// `for: {start, end, updateBy}`; each may be a `{{ }}` reference, read when the step runs.
            case range(start: InputValue, end: InputValue, updateBy: InputValue)
            /// `forEach: [a, b]`.
            case list([InputValue])
            /// `forEach: {list: "a,b", delimiter: ","}`.
            case delimited(list: InputValue, delimiter: InputValue)
        }
        public var name: String?
        public var values: Values
        public var location: SourceLocation
    }

    public enum OnFailure: String, Sendable {
        case abort = "Abort", `continue` = "Continue", ignore = "Ignore"
    }

    public func phase(_ name: PhaseName) -> Phase? { phases.first { $0.name == name.rawValue } }
    public func phase(named name: String) -> Phase? { phases.first { $0.name == name } }

    /// How often a step may be tried, and how long one attempt may take.
    static let maximumAttempts = 1...100
    public static let defaultTimeoutSeconds = 7200
    static let stepTimeoutSeconds = 1...(366 * 86400)

    /// Whether `text` is a mode `chmod` takes as TOE's `permissions` means it: three or four octal digits.
    public static func isOctalMode(_ text: String) -> Bool {
        text.range(of: "^[0-7]{3,4}$", options: .regularExpression) != nil
    }
}

extension Component {
    /// The document, or its first problem.
    public static func load(path: String) throws -> Component {
        let (component, problems) = try lint(path: path)
        if let first = problems.first { throw first }
        guard let component else { throw HallmarkError(.internalError, "component \(path) loaded without a result or a problem") }
        return component
    }

    /// Every problem of the document, as `awstoe validate` reports them, each at its
    /// file:line:column; the component when there is none. A file that cannot be read or
    /// parsed as YAML throws.
    public static func lint(path: String) throws -> (Component?, [HallmarkError]) {
        try lint(path: path, including: [])
    }

    /// `including`: the documents whose ExecuteDocument steps led here, to refuse a cycle.
    static func lint(path: String, including: [String]) throws -> (Component?, [HallmarkError]) {
        let input = try YAMLInput.load(path: path, context: "component", aliases: .componentLimit)
        var problems: [HallmarkError] = []
        func attempt<T>(_ body: () throws -> T) -> T? {
            do { return try body() } catch let error as HallmarkError {
                problems.append(error)
                return nil
            } catch {
                problems.append(input.error("\(error)"))
                return nil
            }
        }
        guard
            let root = attempt({
                try input.mapping(allowed: ["name", "description", "schemaVersion", "parameters", "constants", "phases"]) {
                    problems.append($0)
                }
            })
        else { return (nil, problems) }

        if let schemaInput = attempt({ try root.required("schemaVersion") }), let schema = attempt({ try schemaInput.string() }),
            !["1.0", "1"].contains(schema)
        {
            problems.append(schemaInput.error("schemaVersion must be 1.0, got '\(schema)'"))
        }
        // Names appear in logs, summary.md and report.html; the control-id alphabet keeps them
        // plain text there. Inner spaces are allowed because AWS component names may have them.
        let fileName = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var name = fileName
        if let nameInput = root["name"], let declared = attempt({ try nameInput.string() }) {
            if declared.range(of: #"^[A-Za-z0-9]([A-Za-z0-9._: -]*[A-Za-z0-9._:-])?$"#, options: .regularExpression) == nil {
                problems.append(
                    nameInput.error("component name must be letters, digits, '.', '_', ':', '-' or inner spaces, got '\(declared)'"))
            }
            name = declared
        }
        let description = root["description"].flatMap { input in attempt { try input.string() } }
        let parameters = (root["parameters"].flatMap { input in attempt { try input.sequence() } } ?? []).compactMap { item in
            attempt { try parseParameter(item) }
        }
        let constants = (root["constants"].flatMap { input in attempt { try input.sequence() } } ?? []).compactMap { item in
            attempt { try parseConstant(item) }
        }
        checkVariableNames(parameters: parameters, constants: constants, problems: &problems)

        var phases: [Phase] = []
        if let phasesInput = attempt({ try root.required("phases") }), let items = attempt({ try phasesInput.sequence() }) {
            for item in items {
                guard let phase = parsePhase(item, problems: &problems) else { continue }
                if phases.contains(where: { $0.name == phase.name }) {
                    problems.append(item.error("phase '\(phase.name)' appears twice; each phase name is used once in a document"))
                    continue
                }
                phases.append(phase)
            }
            if !items.isEmpty, !phases.isEmpty, !phases.contains(where: { PhaseName(rawValue: $0.name) != nil }) {
                problems.append(phasesInput.error("a document needs at least one of the phases build, validate or test"))
            }
            if items.isEmpty {
                problems.append(phasesInput.error("'phases' is empty; a document needs at least one of build, validate or test"))
            }
        }
        var component = Component(
            name: name, description: description, parameters: parameters,
            constants: Dictionary(constants.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first }),
            phases: phases, path: path, digest: Digest.sha256((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data()))
        component.documents = loadNestedDocuments(of: component, including: including + [path], problems: &problems)
        // A nested document is part of what the build ran: its change changes the digest.
        if !component.documents.isEmpty {
            let nested = component.documents.keys.sorted().map { "\($0)=\(component.documents[$0]!.digest)" }
            component.digest = Digest.sha256(Data(([component.digest] + nested).joined(separator: "\n").utf8))
        }
        problems += ComponentReferences.problems(in: component, parameterNames: parameters.map(\.name) + constants.map(\.name))
        problems.sort { ($0.location?.line ?? 0, $0.location?.column ?? 0) < ($1.location?.line ?? 0, $1.location?.column ?? 0) }
        return (problems.isEmpty ? component : nil, problems)
    }

    /// Where an ExecuteDocument step's `document` is: relative to the document that names it.
    public static func nestedPath(_ document: String, from path: String) -> String {
        document.hasPrefix("/") ? document : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(document)
    }

    /// Loads every document an ExecuteDocument step names, each checked as a whole; a document
    /// that leads back to one that includes it is refused at the step.
    private static func loadNestedDocuments(of component: Component, including: [String], problems: inout [HallmarkError])
        -> [String: Component]
    {
        var documents: [String: Component] = [:]
        for step in component.phases.flatMap(\.steps) where step.action == .executeDocument {
            guard let document = step.inputs?["document"], let text = document.string, documents[text] == nil else { continue }
            let nested = nestedPath(text, from: component.path)
            let resolved = (nested as NSString).standardizingPath
            if including.map({ ($0 as NSString).standardizingPath }).contains(resolved) {
                problems.append(
                    .invalidInput(
                        "step '\(step.name)': ExecuteDocument '\(text)' leads back to \(resolved), which runs it: a cycle",
                        at: document.location))
                continue
            }
            do {
                let (loaded, nestedProblems) = try lint(path: nested, including: including)
                problems += nestedProblems
                if let loaded { documents[text] = loaded }
            } catch let error as HallmarkError {
                problems.append(
                    .invalidInput("step '\(step.name)': ExecuteDocument '\(text)': \(error.description)", at: document.location))
            } catch {
                problems.append(.invalidInput("step '\(step.name)': ExecuteDocument '\(text)': \(error)", at: document.location))
            }
        }
        return documents
    }

    /// TOE's rule for parameter and constant names: 3 to 128 of letters, digits, '_' and '-'.
    static let variableNamePattern = "^[A-Za-z0-9_-]{3,128}$"

    /// Parameter and constant names share one namespace.
    private static func checkVariableNames(
        parameters: [Parameter], constants: [(name: String, value: String, location: SourceLocation)], problems: inout [HallmarkError]
    ) {
        var seen = Set<String>()
        for (name, location) in parameters.map({ ($0.name, $0.location) }) + constants.map({ ($0.name, $0.location) })
        where !seen.insert(name).inserted {
            problems.append(.invalidInput("'\(name)' is declared twice; parameter and constant names are unique together", at: location))
        }
    }

    // TOE writes each parameter as a one-key mapping: `- Name: {type: string, default: x}`.
    private static func parseParameter(_ item: YAMLInput) throws -> Parameter {
        let entries = try item.freeMapping()
        guard entries.count == 1, let (name, body) = entries.first else {
            throw item.error("each parameter is a one-key mapping: '- Name: {type: string, default: value}'")
        }
        if name.range(of: variableNamePattern, options: .regularExpression) == nil {
            throw item.error("parameter name '\(name)' must be 3 to 128 letters, digits, '_' or '-'")
        }
        let fields = try body.mapping(allowed: ["type", "default", "description"])
        let type = try fields.required("type").string()
        guard type == "string" else { throw try fields.required("type").error("parameter type must be 'string', got '\(type)'") }
        return Parameter(
            name: name, type: type, defaultValue: try fields["default"]?.string(), description: try fields["description"]?.string(),
            location: item.location)
    }

    private static func parseConstant(_ item: YAMLInput) throws -> (name: String, value: String, location: SourceLocation) {
        let entries = try item.freeMapping()
        guard entries.count == 1, let (name, body) = entries.first else {
            throw item.error("each constant is a one-key mapping: '- Name: {type: string, value: x}'")
        }
        if name.range(of: variableNamePattern, options: .regularExpression) == nil {
            throw item.error("constant name '\(name)' must be 3 to 128 letters, digits, '_' or '-'")
        }
        let fields = try body.mapping(allowed: ["type", "value"])
        let type = try fields.required("type").string()
        guard type == "string" else { throw try fields.required("type").error("constant type must be 'string', got '\(type)'") }
        return (name, try fields.required("value").string(), item.location)
    }

    private static func parsePhase(_ item: YAMLInput, problems: inout [HallmarkError]) -> Phase? {
        guard let fields = try? item.mapping(allowed: ["name", "steps"], report: { problems.append($0) }) else {
            problems.append(item.error("each phase is a mapping with 'name' and 'steps'"))
            return nil
        }
        guard let nameInput = fields["name"], let name = try? nameInput.string() else {
            problems.append(item.error("phase is missing the required key 'name'"))
            return nil
        }
        guard name.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) != nil else {
            problems.append(nameInput.error("phase name must be letters, digits, '_' or '-', got '\(name)'"))
            return nil
        }
        guard let stepsInput = fields["steps"] else {
            problems.append(item.error("phase '\(name)' is missing the required key 'steps'"))
            return nil
        }
        guard let items = try? stepsInput.sequence() else {
            problems.append(stepsInput.error("'steps' must be a list of steps"))
            return nil
        }
        var steps: [Step] = []
        for item in items {
            guard let step = parseStep(item, problems: &problems) else { continue }
            if steps.contains(where: { $0.name == step.name }) {
                problems.append(item.error("step name '\(step.name)' is used twice in phase '\(name)'"))
                continue
            }
            steps.append(step)
        }
        return Phase(name: name, steps: steps, location: item.location)
    }

    static let stepKeys = ["name", "action", "inputs", "onFailure", "maxAttempts", "timeoutSeconds", "loop", "if", "disableLogging"]

    private static func parseStep(_ item: YAMLInput, problems: inout [HallmarkError]) -> Step? {
        func attempt<T>(_ body: () throws -> T) -> T? {
            do { return try body() } catch let error as HallmarkError {
                problems.append(error)
                return nil
            } catch {
                problems.append(item.error("\(error)"))
                return nil
            }
        }
        guard let fields = attempt({ try item.mapping(allowed: stepKeys) { problems.append($0) } }) else { return nil }
        guard let stepName = attempt({ try fields.required("name").string() }) else { return nil }
        if stepName.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) == nil {
            problems.append(try! fields.required("name").error("step name must be letters, digits, '_' or '-', got '\(stepName)'"))
        }
        var action: Action?
        if let actionInput = attempt({ try fields.required("action") }), let text = attempt({ try actionInput.string() }) {
            if let known = Action(rawValue: text) {
                if known.isSupported {
                    action = known
                } else {
                    problems.append(
                        actionInput.error(
                            "action '\(text)' is a TOE action Hallmark does not run yet; it runs: \(Action.supported.map(\.rawValue).joined(separator: ", "))"
                        ))
                }
            } else {
                problems.append(
                    actionInput.error(
                        "unknown action '\(text)'; TOE's Linux actions: \(Action.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
        }
        var onFailure = OnFailure.abort
        if let input = fields["onFailure"], let text = attempt({ try input.string() }) {
            if let value = OnFailure(rawValue: text) {
                onFailure = value
            } else {
                problems.append(input.error("onFailure must be Abort, Continue or Ignore, got '\(text)'"))
            }
        }
        let maxAttempts = fields["maxAttempts"].flatMap { input in attempt { try input.int(in: maximumAttempts, "maxAttempts") } } ?? 1
        var timeoutSeconds: Int? = defaultTimeoutSeconds
        if let input = fields["timeoutSeconds"], let text = attempt({ try input.string() }) {
            if text == "-1" {
                timeoutSeconds = nil
            } else if let value = Int(text), stepTimeoutSeconds.contains(value) {
                timeoutSeconds = value
            } else {
                problems.append(
                    input.error(
                        "timeoutSeconds must be -1 (no timeout) or a whole number from 1 to \(stepTimeoutSeconds.upperBound), got '\(text)'"
                    ))
            }
        }
        let disableLogging = fields["disableLogging"].flatMap { input in attempt { try input.bool() } } ?? false
        let loop = fields["loop"].flatMap { parseLoop($0, problems: &problems) }
        let condition = fields["if"].flatMap { parseStepCondition($0, problems: &problems) }
        let inputs = fields["inputs"].flatMap { input in attempt { try input.value() } }
        let assertion = action == .assert ? fields["inputs"].flatMap { parseCondition($0, depth: 0, problems: &problems) } : nil
        if let action { attempt { try validateInputs(inputs, for: action, step: stepName, at: item) } }
        // A step with problems is still returned, so its references and the steps chaining to it
        // are checked too; the document as a whole is refused.
        return Step(
            name: stepName, action: action ?? .executeBash, inputs: inputs, onFailure: onFailure, maxAttempts: maxAttempts,
            timeoutSeconds: timeoutSeconds, loop: loop, condition: condition, assertion: assertion, disableLogging: disableLogging,
            location: item.location)
    }

    private static func parseLoop(_ input: YAMLInput, problems: inout [HallmarkError]) -> Loop? {
        guard let fields = try? input.mapping(allowed: ["name", "for", "forEach"], report: { problems.append($0) }) else {
            problems.append(input.error("'loop' must be a mapping with 'for' or 'forEach', and an optional 'name'"))
            return nil
        }
        var name: String?
        if let nameInput = fields["name"] {
            name = try? nameInput.string()
            if name?.range(of: "^[A-Za-z0-9_-]+$", options: .regularExpression) == nil {
                problems.append(nameInput.error("loop name must be letters, digits, '_' or '-'"))
                return nil
            }
        }
        switch (fields["for"], fields["forEach"]) {
        case (let range?, nil):
            guard let range = try? range.mapping(allowed: ["start", "end", "updateBy"], report: { problems.append($0) }),
                let start = try? range["start"]?.value(), let end = try? range["end"]?.value(),
                let updateBy = try? range["updateBy"]?.value()
            else {
                problems.append(input.error("'for' needs 'start', 'end' and 'updateBy', whole numbers"))
                return nil
            }
            for value in [start, end, updateBy] {
                guard let text = value.string, Int(text) != nil || text.contains("{{") else {
                    problems.append(
                        .invalidInput("'for' takes whole numbers, got '\(value.string ?? "a list or mapping")'", at: value.location))
                    return nil
                }
            }
            if let step = updateBy.string.flatMap(Int.init), step == 0 {
                problems.append(.invalidInput("'updateBy' must not be 0", at: updateBy.location))
                return nil
            }
            return Loop(name: name, values: .range(start: start, end: end, updateBy: updateBy), location: input.location)
        case (nil, let forEach?):
            if let items = try? forEach.sequence() {
                let values = items.compactMap { try? $0.value() }.filter { $0.string != nil }
                guard values.count == items.count, !values.isEmpty else {
                    problems.append(forEach.error("'forEach' takes a list of strings, or {list, delimiter}"))
                    return nil
                }
                return Loop(name: name, values: .list(values), location: input.location)
            }
            guard let fields = try? forEach.mapping(allowed: ["list", "delimiter"], report: { problems.append($0) }),
                let list = try? fields["list"]?.value(), list.string != nil
            else {
                problems.append(forEach.error("'forEach' takes a list of strings, or {list, delimiter}"))
                return nil
            }
            let delimiter = (try? fields["delimiter"]?.value()) ?? .string(",", forEach.location)
            return Loop(name: name, values: .delimited(list: list, delimiter: delimiter), location: input.location)
        default:
            problems.append(input.error("'loop' takes exactly one of 'for' and 'forEach'"))
            return nil
        }
    }

    /// Checks the input shape each action needs, so a bad component fails at load time, not mid-build.
    private static func validateInputs(_ inputs: InputValue?, for action: Action, step: String, at item: YAMLInput) throws {
        func fail(_ message: String, _ location: SourceLocation? = nil) -> HallmarkError {
            .invalidInput("step '\(step)' (\(action.rawValue)): \(message)", at: location ?? inputs?.location ?? item.location)
        }
        switch action {
        case .executeBash:
            guard let commands = inputs?["commands"]?.list, !commands.isEmpty, commands.allSatisfy({ $0.string != nil }) else {
                throw fail("inputs must be a mapping with 'commands', a list of strings")
            }
            if let unknown = inputs?.keys.first(where: { !["commands", "workingDirectory"].contains($0) }) {
                throw fail("unknown key '\(unknown)'; expected: commands, workingDirectory")
            }
        case .executeBinary:
            guard let program = inputs?["path"]?.string, !program.isEmpty else { throw fail("inputs need 'path', the program to run") }
            if let unknown = inputs?.keys.first(where: { !["path", "arguments", "workingDirectory"].contains($0) }) {
                throw fail("unknown key '\(unknown)'; expected: path, arguments, workingDirectory")
            }
            if let arguments = inputs?["arguments"], arguments.list?.allSatisfy({ $0.string != nil }) != true {
                throw fail("'arguments' must be a list of strings", arguments.location)
            }
        case .assert:
            // Assert's inputs are one condition, as an `if` holds.
            guard let inputs else { throw fail("inputs must be a comparison or logical operator") }
            _ = inputs
        case .executeDocument:
            guard let document = inputs?["document"]?.string, !document.isEmpty, !document.contains("{{") else {
                throw fail("inputs need 'document', the path of a component document (relative to this one)")
            }
            if let unknown = inputs?.keys.first(where: { !["document", "phases", "parameters"].contains($0) }) {
                throw fail("unknown key '\(unknown)'; expected: document, phases, parameters")
            }
            if let phases = inputs?["phases"], phases.string == nil { throw fail("'phases' is a comma-separated string", phases.location) }
            for parameter in inputs?["parameters"]?.list ?? [] where parameter["name"]?.string == nil || parameter["value"]?.string == nil {
                throw fail("each parameter is {name, value}", parameter.location)
            }
        case .updateOS:
            if let unknown = inputs?.keys.first(where: { !["include", "exclude"].contains($0) }) {
                throw fail("unknown key '\(unknown)'; expected: include, exclude")
            }
            for key in ["include", "exclude"] {
                if let list = inputs?[key], list.list?.allSatisfy({ $0.string != nil }) != true {
                    throw fail("'\(key)' must be a list of package names", list.location)
                }
            }
        case .reboot:
            if let unknown = inputs?.keys.first(where: { $0 != "delaySeconds" }) {
                throw fail("unknown key '\(unknown)'; expected: delaySeconds")
            }
            if let delay = inputs?["delaySeconds"], let text = delay.string, !text.contains("{{"),
                Int(text).map({ (0...3600).contains($0) }) != true
            {
                throw fail("delaySeconds must be a whole number from 0 to 3600, got '\(text)'", delay.location)
            }
        case .readFile:
            // One file, not a list: its text is the step's `outputs.content`.
            guard let path = inputs?["path"], let text = path.string, text.hasPrefix("/") || text.contains("{{") else {
                throw fail("inputs need 'path', an absolute path inside the image")
            }
            if let unknown = inputs?.keys.first(where: { !["path", "encoding"].contains($0) }) {
                throw fail("unknown key '\(unknown)'; expected: path, encoding")
            }
        case .webDownload:
            guard let entries = inputs?.list, !entries.isEmpty else {
                throw fail("inputs must be a list of entries with 'source' (an http or https URL) and 'destination'")
            }
            let allowed = ["source", "destination", "overwrite", "checksum", "algorithm"]
            for entry in entries {
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
                guard let source = entry["source"], let url = source.string,
                    url.contains("{{") || url.hasPrefix("http://") || url.hasPrefix("https://")
                else { throw fail("each entry needs 'source', an http or https URL", entry["source"]?.location ?? entry.location) }
                guard let destination = entry["destination"], let path = destination.string, path.hasPrefix("/") || path.contains("{{")
                else {
                    throw fail(
                        "each entry needs 'destination', an absolute path inside the image (ending in '/' for a folder)",
                        entry["destination"]?.location ?? entry.location)
                }
                if (entry["checksum"] == nil) != (entry["algorithm"] == nil) {
                    throw fail("'checksum' and 'algorithm' go together", entry.location)
                }
                if let algorithm = entry["algorithm"], let name = algorithm.string, !name.contains("{{"),
                    !["MD5", "SHA1", "SHA256", "SHA512"].contains(name.uppercased())
                {
                    throw fail("algorithm '\(name)' is not one of MD5, SHA1, SHA256, SHA512", algorithm.location)
                }
            }
        case .s3Download:
            guard let entries = inputs?.list, !entries.isEmpty else {
                throw fail("inputs must be a list of entries with 'source' (s3://bucket/key, or a prefix ending in /*) and 'destination'")
            }
            let allowed = ["source", "destination", "overwrite", "expectedBucketOwner"]
            for entry in entries {
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
                guard let source = entry["source"], let url = source.string, url.contains("{{") || url.hasPrefix("s3://") else {
                    throw fail(
                        "each entry needs 'source', s3://bucket/key or a prefix ending in /*", entry["source"]?.location ?? entry.location)
                }
                guard let destination = entry["destination"], let path = destination.string, path.hasPrefix("/") || path.contains("{{")
                else {
                    throw fail(
                        "each entry needs 'destination', an absolute path inside the image",
                        entry["destination"]?.location ?? entry.location)
                }
            }
        case .s3Upload:
            guard let entries = inputs?.list, !entries.isEmpty else {
                throw fail(
                    "inputs must be a list of entries with 'source' (a path inside the image, '*' allowed in its last name) and 'destination' (s3://bucket/key or a prefix)"
                )
            }
            let allowed = ["source", "destination", "recurse", "expectedBucketOwner"]
            for entry in entries {
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
                guard let source = entry["source"], let path = source.string, path.hasPrefix("/") || path.contains("{{") else {
                    throw fail(
                        "each entry needs 'source', an absolute path inside the image ('*' allowed in its last name)",
                        entry["source"]?.location ?? entry.location)
                }
                if (path as NSString).deletingLastPathComponent.contains(where: { $0 == "*" || $0 == "?" }) {
                    throw fail("source '\(path)' has a wildcard before its last name; TOE takes one only in the last name", source.location)
                }
                guard let destination = entry["destination"], let url = destination.string, url.contains("{{") || url.hasPrefix("s3://")
                else {
                    throw fail(
                        "each entry needs 'destination', s3://bucket/key or a key prefix ending in '/'",
                        entry["destination"]?.location ?? entry.location)
                }
                if let recurse = entry["recurse"], let text = recurse.string, !text.contains("{{"),
                    !["true", "false"].contains(text.lowercased())
                {
                    throw fail("recurse must be true or false, got '\(text)'", recurse.location)
                }
            }
        case .listFiles:
            guard let entries = inputs?.list, !entries.isEmpty else {
                throw fail("inputs must be a list of entries with 'path', a folder inside the image")
            }
            let allowed = ["path", "fileNamePattern", "recursive"]
            for entry in entries {
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
                guard let path = entry["path"], let text = path.string, text.hasPrefix("/") || text.contains("{{") else {
                    throw fail(
                        "each entry needs 'path', an absolute folder path inside the image", entry["path"]?.location ?? entry.location)
                }
                if let pattern = entry["fileNamePattern"], pattern.string?.contains("/") != false {
                    throw fail("fileNamePattern is a file name pattern such as '*log', without '/'", pattern.location)
                }
                if let recursive = entry["recursive"], let text = recursive.string, !text.contains("{{"),
                    !["true", "false"].contains(text.lowercased())
                {
                    throw fail("recursive must be true or false, got '\(text)'", recursive.location)
                }
            }
        case .setFileEncoding:
            guard let entries = inputs?.list, !entries.isEmpty else {
                throw fail("inputs must be a list of entries with 'path' and 'encoding'")
            }
            for entry in entries {
                if let unknown = entry.keys.first(where: { !["path", "encoding"].contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: path, encoding", entry.location)
                }
                guard let path = entry["path"], let text = path.string, text.hasPrefix("/") || text.contains("{{") else {
                    throw fail("each entry needs 'path', an absolute file path inside the image", entry["path"]?.location ?? entry.location)
                }
                if let encoding = entry["encoding"], let name = encoding.string, !name.contains("{{"), TextEncoding(toeName: name) == nil {
                    throw fail("encoding '\(name)' is not one of: \(TextEncoding.toeNames)", encoding.location)
                }
                if let encoding = entry["encoding"], encoding.string == nil {
                    throw fail("encoding is a name such as utf16", encoding.location)
                }
            }
        case .copyFile, .copyFolder, .moveFile, .moveFolder, .createSymlink:
            guard let entries = inputs?.list, !entries.isEmpty else {
                throw fail("inputs must be a list of entries with 'source' and 'destination'")
            }
            let allowed = action == .createSymlink ? ["source", "destination", "force"] : ["source", "destination", "overwrite"]
            for entry in entries {
                for key in ["source", "destination"] {
                    guard let value = entry[key], let text = value.string else { throw fail("each entry needs '\(key)'", entry.location) }
                    // A symbolic link's target may be relative; every other path is absolute in the image.
                    guard text.hasPrefix("/") || text.contains("{{") || (action == .createSymlink && key == "source") else {
                        throw fail("\(key) must be an absolute path inside the image; got '\(text)'", value.location)
                    }
                }
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
            }
        case .createFile, .appendFile, .deleteFile, .createFolder, .setFilePermissions, .deleteFolder, .setFileOwner, .setFolderOwner,
            .setFolderPermissions:
            guard let entries = inputs?.list, !entries.isEmpty else { throw fail("inputs must be a list of entries with 'path'") }
            let allowed: [String] =
                switch action {
                case .createFile: ["path", "content", "encoding", "permissions", "owner", "group", "overwrite"]
                case .appendFile: ["path", "content", "encoding"]
                case .setFilePermissions: ["path", "permissions"]
                case .createFolder: ["path", "permissions", "owner", "group", "overwrite"]
                case .deleteFolder: ["path", "force"]
                case .setFileOwner: ["path", "owner", "group"]
                case .setFolderOwner: ["path", "owner", "group", "recursive"]
                case .setFolderPermissions: ["path", "permissions", "recursive"]
                default: ["path"]
                }
            for entry in entries {
                guard let path = entry["path"], let text = path.string else { throw fail("each entry needs a 'path'", entry.location) }
                // A path with a {{ }} reference is checked once rendered, when the step runs.
                guard text.hasPrefix("/") || text.contains("{{") else {
                    throw fail("path must be an absolute path inside the image, such as /etc/motd; got '\(text)'", path.location)
                }
                if [.setFileOwner, .setFolderOwner].contains(action), entry["owner"]?.string == nil {
                    throw fail("each entry needs 'owner', a user name or id", entry.location)
                }
                if [.setFilePermissions, .setFolderPermissions].contains(action), entry["permissions"]?.string == nil {
                    throw fail("each entry needs 'permissions', an octal mode such as \"0644\"", entry.location)
                }
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
                // TOE's other encodings (unicode, bigendianunicode, ...) are not written by Hallmark yet.
                if let encoding = entry["encoding"], encoding.string?.lowercased() != "utf8" {
                    throw fail("encoding '\(encoding.string ?? "")' is not supported; Hallmark writes utf8", encoding.location)
                }
            }
        }
    }
}
