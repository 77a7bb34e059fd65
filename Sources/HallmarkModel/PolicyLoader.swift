import Foundation
import HallmarkSupport
import Yams

/// Reads policy files: includes (relative to the including file, cycles rejected), variables with
/// defaults and overrides, controls and test cases. Problems are collected, each at its
/// file:line:column, so `hallmark policy lint` can show all of them at once.
struct PolicyLoader {
    /// Overrides from the caller (a recipe's `tests.variables`); they win over every default.
    let overrides: [String: String]
    /// The resources checks may name.
    let language: CheckLanguage
    private(set) var problems: [HallmarkError] = []
    /// Files already loaded in this tree: a file included twice (not a cycle) contributes once.
    private var loaded: Set<String> = []

    init(overrides: [String: String], language: CheckLanguage) {
        self.overrides = overrides
        self.language = language
    }

    static let rootKeys = ["id", "title", "version", "description", "include", "variables", "controls", "tests"]
    static let controlKeys = ["id", "title", "severity", "rationale", "remediation", "references", "tags", "only_if", "check"]

    struct LoadedFile {
        var id: String
        var title: String
        var version: String?
        var description: String?
        var controls: [Control]
        var digest: String
        var variables: [String: String]
        var declared: Set<String>
        var includedFiles: [PolicySource]
        var tests: [PolicyTestCase]
    }

    mutating func report(_ error: HallmarkError) {
        problems.append(error)
    }

    /// Runs `body`; a Hallmark error is recorded and nil returned, so loading goes on.
    private mutating func attempt<T>(_ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch let error as HallmarkError {
            problems.append(error)
        } catch {
            problems.append(HallmarkError.invalidInput("\(error)"))
        }
        return nil
    }

    mutating func loadFile(path: String, inherited: [String: String], stack: [String], includedAt: SourceLocation?) throws -> LoadedFile {
        loaded.insert(path)
        let input = try YAMLInput.load(path: path, context: "policy")
        let digest = Digest.sha256((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
        var collected: [HallmarkError] = []
        let root = try input.lenientMapping(allowed: Self.rootKeys, problems: &collected)
        problems += collected
        let directory = (path as NSString).deletingLastPathComponent
        let fallbackID = ((path as NSString).lastPathComponent as NSString).deletingPathExtension

        let id = attempt { try root.required("id").string() } ?? fallbackID
        let title = attempt { try root.required("title").string() } ?? id
        let version = attempt { try root["version"]?.string() } ?? nil
        let description = attempt { try root["description"]?.string() } ?? nil

        // Variables: this file's defaults, overridden by what the includer (or the caller) passes down.
        var defaults: [String: String] = [:]
        if let variablesInput = root["variables"] {
            let entries: [(key: String, value: YAMLInput)] = attempt { try variablesInput.freeMapping() } ?? []
            for (key, value) in entries {
                guard key.range(of: #"^[A-Za-z_][A-Za-z0-9_.-]*$"#, options: .regularExpression) != nil else {
                    report(value.error("variable name '\(key)' must start with a letter or '_' and use letters, digits, '_', '.', '-'"))
                    continue
                }
                if let text = attempt({ try value.string() }) { defaults[key] = text }
            }
        }
        let values = defaults.merging(inherited) { $1 }
        var declared = Set(defaults.keys)

        var controls: [Control] = []
        var includedFiles: [PolicySource] = []
        if let includeInput = root["include"] {
            for item in attempt({ try includeInput.sequence() }) ?? [] {
                do {
                    let (pathInput, itemVariables) = try Self.parseInclude(item)
                    let childPath = resolve(try pathInput.string(), relativeTo: directory)
                    if childPath == path || stack.contains(childPath) {
                        let chain = (stack + [path, childPath]).drop { $0 != childPath }.map { ($0 as NSString).lastPathComponent }
                        report(pathInput.error("include cycle: \(chain.joined(separator: " → "))"))
                        continue
                    }
                    if loaded.contains(childPath) { continue }
                    if let problem = UserFile.problem(childPath) {
                        report(pathInput.error("included policy \(childPath): \(problem); expected a readable file"))
                        continue
                    }
                    let childInherited = values.merging(itemVariables.mapValues(\.value)) { $1 }.merging(overrides) { $1 }
                    let child = try loadFile(
                        path: childPath, inherited: childInherited, stack: stack + [path], includedAt: pathInput.location)
                    for (name, entry) in itemVariables where !child.declared.contains(name) {
                        report(entry.input.error("variable '\(name)' is not declared by \((childPath as NSString).lastPathComponent)"))
                    }
                    controls += child.controls
                    declared.formUnion(child.declared)
                    includedFiles += [PolicySource(path: childPath, sha256: child.digest)] + child.includedFiles
                } catch let error as HallmarkError {
                    report(error)
                }
            }
        }

        let ownDeclared = Set(defaults.keys)
        let language = language
        if let controlsInput = root["controls"] {
            for item in attempt({ try controlsInput.sequence() }) ?? [] {
                if let control = attempt({ try Self.parseControl(item, values: values, declared: ownDeclared, language: language) }) {
                    controls.append(control)
                }
            }
        }

        var tests: [PolicyTestCase] = []
        if let testsInput = root["tests"] {
            for item in attempt({ try testsInput.sequence() }) ?? [] {
                if let test = attempt({ try Self.parseTest(item) }) { tests.append(test) }
            }
        }
        let ids = Set(controls.map(\.id))
        // A fact no control reads (a typo such as `sshdd`) would make its test case test nothing.
        let readFacts = Set(
            controls.flatMap { control in
                control.check.resource.factKeys + (control.onlyIf?.resource.factKeys ?? [])
            })
        for test in tests {
            for expectation in test.expectations where !ids.contains(expectation.controlID) {
                report(
                    HallmarkError.invalidInput(
                        "test '\(test.name)' expects a result for unknown control '\(expectation.controlID)'", at: expectation.location))
            }
            for key in test.facts.keys.sorted() where !readFacts.contains(key) {
                report(
                    HallmarkError.invalidInput(
                        "test '\(test.name)' gives fact '\(key)', which no control of this policy reads; facts read: \(readFacts.sorted().joined(separator: ", "))",
                        at: test.factLocations[key] ?? test.location))
            }
        }

        return LoadedFile(
            id: id, title: title, version: version, description: description, controls: controls, digest: digest,
            variables: values.filter { declared.contains($0.key) }, declared: declared, includedFiles: includedFiles, tests: tests)
    }

    mutating func checkDuplicateIDs(_ controls: [Control]) {
        var seen: [String: SourceLocation] = [:]
        for control in controls {
            if let first = seen[control.id] {
                report(HallmarkError.invalidInput("duplicate control id '\(control.id)' (first defined at \(first))", at: control.location))
            } else {
                seen[control.id] = control.location
            }
        }
    }

    static func parseInclude(_ item: YAMLInput) throws -> (YAMLInput, [String: (value: String, input: YAMLInput)]) {
        if case .scalar = item.node { return (item, [:]) }
        let fields = try item.mapping(allowed: ["path", "variables"])
        var variables: [String: (value: String, input: YAMLInput)] = [:]
        for (key, value) in try fields["variables"]?.freeMapping() ?? [] {
            variables[key] = (try value.string(), value)
        }
        return (try fields.required("path"), variables)
    }

    // MARK: Variables

    /// Replaces `{{ name }}` in every scalar under `node`; a name the file does not declare is an
    /// error at that scalar. In a resource's shell fields (a command check's `run`) each value is
    /// quoted for the place it lands in, so it stays one literal piece of text and never becomes shell syntax.
    static func substitute(
        _ node: Node, values: [String: String], declared: Set<String>, file: String, language: CheckLanguage,
        shellFields: Set<String> = [], isShell: Bool = false
    ) throws -> Node {
        switch node {
        case .scalar(var scalar):
            guard scalar.string.contains("{{") else { return node }
            let location = SourceLocation(file: file, line: scalar.mark?.line, column: scalar.mark?.column)
            let text = scalar.string
            let malformed = HallmarkError.invalidInput("malformed variable reference in '\(text)'; write {{ name }}", at: location)
            scalar.string = try Template.substitute(text, unclosed: malformed) { reference in
                let name = reference.name
                guard name.range(of: #"^[A-Za-z_][A-Za-z0-9_.-]*$"#, options: .regularExpression) != nil else { throw malformed }
                guard declared.contains(name), let value = values[name] else {
                    throw HallmarkError.invalidInput(
                        "undefined variable '\(name)': declare it with a default under 'variables:' in this policy file", at: location)
                }
                guard isShell else { return value }
                guard let quoted = ShellText.quote(value, at: reference.range.lowerBound, in: text) else {
                    throw HallmarkError.invalidInput(
                        "variable '\(name)' cannot be placed safely at this point of the command (its value '\(value)' inside single quotes, ${…} or backquotes would become code); put {{ \(name) }} outside quotes or inside double quotes",
                        at: location)
                }
                return quoted
            }
            return .scalar(scalar)
        case .mapping(var mapping):
            for index in mapping.indices {
                let pair = mapping[index]
                var key: String?
                if case .scalar(let scalar) = pair.key { key = scalar.string }
                let resourceShellFields = language.entries.first { $0.name == key }?.shellFields ?? []
                mapping[index] = (
                    key: pair.key,
                    value: try substitute(
                        pair.value, values: values, declared: declared, file: file, language: language,
                        shellFields: resourceShellFields, isShell: key.map(shellFields.contains) ?? false)
                )
            }
            return .mapping(mapping)
        case .sequence(var sequence):
            for index in sequence.indices {
                sequence[index] = try substitute(sequence[index], values: values, declared: declared, file: file, language: language)
            }
            return .sequence(sequence)
        case .alias:
            return node
        }
    }

    // MARK: Controls

    static func parseControl(_ raw: YAMLInput, values: [String: String], declared: Set<String>, language: CheckLanguage) throws -> Control {
        let node = try substitute(raw.node, values: values, declared: declared, file: raw.file, language: language)
        let item = YAMLInput(node: node, file: raw.file, context: raw.context)
        let fields = try item.mapping(allowed: controlKeys)
        let id = try fields.required("id").string()
        guard !id.isEmpty, id.range(of: #"^[A-Za-z0-9][A-Za-z0-9._:-]*$"#, options: .regularExpression) != nil else {
            throw try fields.required("id").error("control id must be letters, digits, '.', '_', ':' or '-', got '\(id)'")
        }
        let severityInput = try fields.required("severity")
        guard let severity = Severity(rawValue: try severityInput.string()) else {
            throw severityInput.error("severity must be one of: \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var references: [String: [String]] = [:]
        for (key, value) in try fields["references"]?.freeMapping() ?? [] {
            references[key] = try value.oneOrMoreStrings()
        }
        return Control(
            id: id,
            title: try fields.required("title").string(),
            severity: severity,
            rationale: try fields["rationale"]?.string(),
            remediation: try fields["remediation"]?.string(),
            references: references,
            check: try parseCheck(try fields.required("check"), language: language),
            location: raw.location,
            tags: try fields["tags"]?.oneOrMoreStrings() ?? [],
            onlyIf: try fields["only_if"].map { try parseCheck($0, language: language) })
    }

    /// `{kind: body}`: the resource `kind` reads its body.
    static func parseCheck(_ input: YAMLInput, language: CheckLanguage) throws -> Check {
        let wrapper = try input.mapping(allowed: language.names)
        guard wrapper.keys.count == 1, let kind = wrapper.keys.first, let body = wrapper[kind],
            let entry = language.entries.first(where: { $0.name == kind })
        else {
            throw input.error("check must name exactly one resource: \(language.names.joined(separator: ", "))")
        }
        return Check(try entry.read(body))
    }

    // MARK: Test cases

    static func parseTest(_ item: YAMLInput) throws -> PolicyTestCase {
        let fields = try item.mapping(allowed: ["name", "facts", "reboot", "expect"])
        let name = try fields.required("name").string()
        var facts: [String: PolicyTestCase.ProbeFact] = [:]
        var factLocations: [String: SourceLocation] = [:]
        for (key, value) in try fields["facts"]?.freeMapping() ?? [] {
            factLocations[key] = fields["facts"]?.location(ofKey: key) ?? value.location
            if case .scalar = value.node {
                facts[key] = PolicyTestCase.ProbeFact(exitCode: 0, stdout: try value.string())
                continue
            }
            let probe = try value.mapping(allowed: ["exitCode", "exit_code", "stdout", "stderr"])
            let code = try (probe["exitCode"] ?? probe["exit_code"])?.exitCode() ?? 0
            facts[key] = PolicyTestCase.ProbeFact(
                exitCode: code, stdout: try probe["stdout"]?.string() ?? "", stderr: try probe["stderr"]?.string() ?? "")
        }
        var reboot: PolicyTestCase.RebootFact?
        if let rebootInput = fields["reboot"] {
            let rebootFields = try rebootInput.mapping(allowed: ["boot_id_before", "boot_id_after", "failure"])
            reboot = PolicyTestCase.RebootFact(
                bootIDBefore: try rebootFields.required("boot_id_before").string(),
                bootIDAfter: try rebootFields["boot_id_after"]?.string(), failure: try rebootFields["failure"]?.string())
        }
        let expectInput = try fields.required("expect")
        var expectations: [PolicyTestCase.Expectation] = []
        for (controlID, value) in try expectInput.freeMapping() {
            let text = try value.string()
            guard let status = ResultStatus(rawValue: text) else {
                throw value.error(
                    "expected result must be one of: \(ResultStatus.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            expectations.append(PolicyTestCase.Expectation(controlID: controlID, status: status, location: value.location))
        }
        guard !expectations.isEmpty else { throw expectInput.error("test '\(name)' expects nothing") }
        return PolicyTestCase(
            name: name, facts: facts, reboot: reboot, expectations: expectations, location: item.location, factLocations: factLocations)
    }
}

extension YAMLInput {
    /// Like `mapping(allowed:)`, but an unknown or duplicate key is recorded and skipped instead of
    /// stopping, so a lint run reports all of them.
    func lenientMapping(allowed: [String], problems: inout [HallmarkError]) throws -> Mapping {
        try mapping(allowed: allowed) { problems.append($0) }
    }
}

/// Readers of the policy language's values, for the resources' checks.
extension YAMLInput {
    /// A scalar means "equals"; a one-key mapping names the matcher.
    public func matcher() throws -> Matcher {
        if case .scalar = node { return .equals(try string()) }
        let fields = try mapping(allowed: Matcher.keys)
        guard fields.keys.count == 1, let key = fields.keys.first, let value = fields[key] else {
            throw error("a matcher names exactly one of: \(Matcher.keys.joined(separator: ", "))")
        }
        switch key {
        case "equals": return .equals(try value.string())
        case "not": return .not(try value.string())
        case "matches", "not_matches":
            let pattern = try value.string()
            try value.validateRegex(pattern)
            return key == "matches" ? .matches(pattern) : .notMatches(pattern)
        case "one_of": return .oneOf(try value.strings())
        default:
            guard let number = Double(try value.string()) else { throw value.error("\(key) needs a number, got '\(try value.string())'") }
            return .compare(Matcher.Comparison(rawValue: key)!, number)
        }
    }

    /// A pattern that compiles, as evaluation compiles it; the error is at this node.
    public func validateRegex(_ pattern: String) throws {
        do { _ = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) } catch {
            throw self.error("invalid regular expression /\(pattern)/")
        }
    }

    public func absoluteGuestPath() throws -> String {
        let path = try string()
        guard path.hasPrefix("/") else { throw error("path must be absolute inside the image, got '\(path)'") }
        return path
    }

    public func packageName() throws -> String {
        let name = try string()
        guard name.range(of: #"^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$"#, options: .regularExpression) != nil else {
            throw error("'\(name)' is not a Debian package name")
        }
        return name
    }

    /// An exit code a process can have: 0 to 255 (a larger number would also trap on conversion).
    public func exitCode() throws -> Int32 {
        Int32(try int(in: 0...255, "an exit code"))
    }
}
