import Foundation
import HallmarkSupport
import Yams

/// Reads policy files: includes (relative to the including file, cycles rejected), variables with
/// defaults and overrides, controls and test cases. Problems are collected, each at its
/// file:line:column, so `hallmark policy lint` can show all of them at once.
struct PolicyLoader {
    /// Overrides from the caller (a recipe's `tests.variables`); they win over every default.
    let overrides: [String: String]
    private(set) var problems: [HallmarkError] = []
    /// Files already loaded in this tree: a file included twice (not a cycle) contributes once.
    private var loaded: Set<String> = []

    init(overrides: [String: String]) {
        self.overrides = overrides
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
                    guard FileManager.default.fileExists(atPath: childPath) else {
                        report(pathInput.error("included policy not found: \(childPath)"))
                        continue
                    }
                    let childInherited = values.merging(itemVariables.mapValues(\.value)) { $1 }.merging(overrides) { $1 }
                    let child = try loadFile(path: childPath, inherited: childInherited, stack: stack + [path], includedAt: pathInput.location)
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
        if let controlsInput = root["controls"] {
            for item in attempt({ try controlsInput.sequence() }) ?? [] {
                if let control = attempt({ try Self.parseControl(item, values: values, declared: ownDeclared) }) {
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
        for test in tests {
            for expectation in test.expectations where !ids.contains(expectation.controlID) {
                report(HallmarkError.invalidInput(
                    "test '\(test.name)' expects a result for unknown control '\(expectation.controlID)'", at: expectation.location))
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

    /// An exit code that fits a process status (a larger number would trap on conversion).
    static func exitCode(_ input: YAMLInput) throws -> Int32 {
        guard let code = Int32(exactly: try input.int()) else { throw input.error("an exit code must be a 32-bit number") }
        return code
    }

    // MARK: Variables

    static let variableReference = try! NSRegularExpression(pattern: #"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}"#)

    /// Replaces `{{ name }}` in every scalar under `node`; a name the file does not declare is an
    /// error at that scalar. In a command check's `run` (shell text) each value is quoted for the
    /// place it lands in, so it stays one literal piece of text and never becomes shell syntax.
    static func substitute(_ node: Node, values: [String: String], declared: Set<String>, file: String,
                           inCommand: Bool = false, isShell: Bool = false) throws -> Node {
        switch node {
        case .scalar(var scalar):
            guard scalar.string.contains("{{") else { return node }
            let location = SourceLocation(file: file, line: scalar.mark?.line, column: scalar.mark?.column)
            let text = scalar.string
            var result = ""
            var cursor = text.startIndex
            let matches = variableReference.matches(in: text, range: NSRange(text.startIndex..., in: text))
            guard text.components(separatedBy: "{{").count - 1 == matches.count else {
                throw HallmarkError.invalidInput("malformed variable reference in '\(text)'; write {{ name }}", at: location)
            }
            for match in matches {
                guard let whole = Range(match.range, in: text), let nameRange = Range(match.range(at: 1), in: text) else { continue }
                let name = String(text[nameRange])
                guard declared.contains(name), let value = values[name] else {
                    throw HallmarkError.invalidInput(
                        "undefined variable '\(name)': declare it with a default under 'variables:' in this policy file", at: location)
                }
                var inserted = value
                if isShell {
                    guard let quoted = ShellText.quote(value, at: whole.lowerBound, in: text) else {
                        throw HallmarkError.invalidInput(
                            "variable '\(name)' cannot be placed safely at this point of the command (its value '\(value)' inside single quotes, ${…} or backquotes would become code); put {{ \(name) }} outside quotes or inside double quotes",
                            at: location)
                    }
                    inserted = quoted
                }
                result += text[cursor..<whole.lowerBound] + inserted
                cursor = whole.upperBound
            }
            result += text[cursor...]
            scalar.string = result
            return .scalar(scalar)
        case .mapping(var mapping):
            for index in mapping.indices {
                let pair = mapping[index]
                var key: String?
                if case .scalar(let scalar) = pair.key { key = scalar.string }
                mapping[index] = (key: pair.key, value: try substitute(
                    pair.value, values: values, declared: declared, file: file,
                    inCommand: key == "command", isShell: inCommand && key == "run"))
            }
            return .mapping(mapping)
        case .sequence(var sequence):
            for index in sequence.indices {
                sequence[index] = try substitute(sequence[index], values: values, declared: declared, file: file)
            }
            return .sequence(sequence)
        case .alias:
            return node
        }
    }

    // MARK: Controls

    static func parseControl(_ raw: YAMLInput, values: [String: String], declared: Set<String>) throws -> Control {
        let item = YAMLInput(node: try substitute(raw.node, values: values, declared: declared, file: raw.file), file: raw.file, context: raw.context)
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
            check: try parseCheck(try fields.required("check")),
            location: raw.location,
            tags: try fields["tags"]?.oneOrMoreStrings() ?? [],
            onlyIf: try fields["only_if"].map(parseCheck))
    }

    static func parseCheck(_ input: YAMLInput) throws -> Check {
        let wrapper = try input.mapping(allowed: Check.kinds)
        guard wrapper.keys.count == 1, let kind = wrapper.keys.first, let body = wrapper[kind] else {
            throw input.error("check must name exactly one resource: \(Check.kinds.joined(separator: ", "))")
        }
        switch kind {
        case "file":
            let fields = try body.mapping(allowed: ["path", "exists", "owner", "group", "mode", "contains", "not_contains", "sha256"])
            var ceiling: UInt16?
            if let modeInput = fields["mode"] {
                guard let mode = UInt16(try modeInput.string(), radix: 8), mode <= 0o7777 else {
                    throw modeInput.error("mode must be an octal permission such as \"0640\" (quote it), got '\(try modeInput.string())'")
                }
                ceiling = mode
            }
            let contains = try fields["contains"]?.oneOrMoreStrings() ?? []
            let notContains = try fields["not_contains"]?.oneOrMoreStrings() ?? []
            for pattern in contains + notContains { try validateRegex(pattern, at: body) }
            return .file(FileCheck(
                path: try absoluteGuestPath(try fields.required("path")),
                exists: try fields["exists"]?.bool() ?? true,
                owner: try fields["owner"]?.string(), group: try fields["group"]?.string(), modeCeiling: ceiling,
                contains: contains, notContains: notContains, sha256: try fields["sha256"]?.string()))
        case "package":
            let fields = try body.mapping(allowed: ["name", "installed", "version"])
            let installed = try fields["installed"]?.bool() ?? true
            var constraint: VersionConstraint?
            if let versionInput = fields["version"] {
                guard installed else { throw versionInput.error("a version constraint needs 'installed: true'") }
                guard let parsed = VersionConstraint(try versionInput.string()) else {
                    throw versionInput.error("version must be a constraint such as \">= 1:9.2\" (operators >=, <=, >>, <<, >, <, =, !=; several joined by commas), got '\(try versionInput.string())'")
                }
                constraint = parsed
            }
            return .package(PackageCheck(name: try packageName(try fields.required("name")), installed: installed, version: constraint))
        case "service":
            let fields = try body.mapping(allowed: ["name", "enabled", "active"])
            guard fields["enabled"] != nil || fields["active"] != nil else { throw body.error("service check needs 'enabled' or 'active'") }
            return .service(ServiceCheck(name: try fields.required("name").string(), enabled: try fields["enabled"]?.bool(), active: try fields["active"]?.bool()))
        case "sysctl":
            let fields = try body.mapping(allowed: ["key", "value", "persisted", "live"])
            let persisted = try fields["persisted"]?.bool() ?? false
            let live = try fields["live"]?.bool() ?? true
            guard live || persisted else { throw body.error("sysctl check with 'live: false' needs 'persisted: true'") }
            let key = try fields.required("key").string().replacingOccurrences(of: "/", with: ".")
            guard key.range(of: #"^[A-Za-z0-9_][A-Za-z0-9_.*-]*$"#, options: .regularExpression) != nil else {
                throw try fields.required("key").error("'\(key)' is not a sysctl key")
            }
            return .sysctl(SysctlCheck(key: key, value: try parseMatcher(try fields.required("value")), persisted: persisted, live: live))
        case "sshd":
            let fields = try body.mapping(allowed: ["setting", "value"])
            return .sshd(SshdCheck(setting: try fields.required("setting").string().lowercased(), value: try parseMatcher(try fields.required("value"))))
        case "accounts":
            let allowed = ["no_empty_passwords", "uid_zero", "gid_zero", "unique_uids", "unique_gids", "unique_user_names",
                           "unique_group_names", "shadowed_passwords", "groups_exist"]
            let fields = try body.mapping(allowed: allowed)
            guard !fields.keys.isEmpty else { throw body.error("accounts check needs at least one of: \(allowed.joined(separator: ", "))") }
            for key in fields.keys where !["uid_zero", "gid_zero"].contains(key) {
                guard try fields[key]!.bool() else { throw fields[key]!.error("'\(key)' can only be true (omit it to not check)") }
            }
            return .accounts(AccountsCheck(
                noEmptyPasswords: fields["no_empty_passwords"] != nil, uidZero: try fields["uid_zero"]?.strings(),
                gidZero: try fields["gid_zero"]?.strings(), uniqueUIDs: fields["unique_uids"] != nil, uniqueGIDs: fields["unique_gids"] != nil,
                uniqueUserNames: fields["unique_user_names"] != nil, uniqueGroupNames: fields["unique_group_names"] != nil,
                shadowedPasswords: fields["shadowed_passwords"] != nil, groupsExist: fields["groups_exist"] != nil))
        case "find":
            let fields = try body.mapping(allowed: ["paths", "world_writable", "unowned", "suid_allowed"])
            let paths = try fields["paths"]?.sequence().map(absoluteGuestPath) ?? ["/"]
            guard !paths.isEmpty else { throw body.error("find needs at least one path") }
            for key in ["world_writable", "unowned"] {
                if let input = fields[key], try input.bool() {
                    throw input.error("find supports '\(key): false' (no such files under the paths)")
                }
            }
            let allowed = try fields["suid_allowed"].map { list in try list.sequence().map(absoluteGuestPath) }
            guard fields["world_writable"] != nil || fields["unowned"] != nil || allowed != nil else {
                throw body.error("find needs one of: world_writable: false, unowned: false, suid_allowed: [paths]")
            }
            return .find(FindCheck(
                paths: paths, worldWritable: fields["world_writable"] != nil ? false : nil,
                unowned: fields["unowned"] != nil ? false : nil, suidAllowed: allowed))
        case "kernel_module":
            let fields = try body.mapping(allowed: ["name", "loadable", "loaded"])
            let nameInput = try fields.required("name")
            let name = try nameInput.string()
            guard name.range(of: #"^[A-Za-z0-9_-]+$"#, options: .regularExpression) != nil else {
                throw nameInput.error("'\(name)' is not a kernel module name")
            }
            guard fields["loadable"] != nil || fields["loaded"] != nil else { throw body.error("kernel_module check needs 'loadable' or 'loaded'") }
            return .kernelModule(KernelModuleCheck(name: name, loadable: try fields["loadable"]?.bool(), loaded: try fields["loaded"]?.bool()))
        case "mount":
            let fields = try body.mapping(allowed: ["path", "options"])
            return .mount(MountCheck(path: try absoluteGuestPath(try fields.required("path")), options: try fields["options"]?.oneOrMoreStrings() ?? []))
        case "port":
            let fields = try body.mapping(allowed: ["port", "protocol", "listening"])
            let portInput = try fields.required("port")
            let port = try portInput.int()
            guard (1...65535).contains(port) else { throw portInput.error("port must be 1-65535, got \(port)") }
            var proto = PortCheck.TransportProtocol.tcp
            if let protocolInput = fields["protocol"] {
                guard let parsed = PortCheck.TransportProtocol(rawValue: try protocolInput.string().lowercased()) else {
                    throw protocolInput.error("protocol must be tcp or udp")
                }
                proto = parsed
            }
            return .port(PortCheck(port: port, protocol: proto, listening: try fields.required("listening").bool()))
        case "user":
            let fields = try body.mapping(allowed: ["name", "exists", "uid", "gid", "shell", "home"])
            let exists = try fields["exists"]?.bool() ?? true
            if !exists, let extra = ["uid", "gid", "shell", "home"].first(where: { fields[$0] != nil }) {
                throw fields[extra]!.error("'\(extra)' makes no sense with 'exists: false'")
            }
            return .user(UserCheck(
                name: try fields.required("name").string(), exists: exists, uid: try fields["uid"].map(parseMatcher),
                gid: try fields["gid"].map(parseMatcher), shell: try fields["shell"].map(parseMatcher), home: try fields["home"].map(parseMatcher)))
        case "group":
            let fields = try body.mapping(allowed: ["name", "exists", "gid", "members"])
            let exists = try fields["exists"]?.bool() ?? true
            if !exists, let extra = ["gid", "members"].first(where: { fields[$0] != nil }) {
                throw fields[extra]!.error("'\(extra)' makes no sense with 'exists: false'")
            }
            return .group(GroupCheck(
                name: try fields.required("name").string(), exists: exists, gid: try fields["gid"].map(parseMatcher),
                members: try fields["members"].map(parseMatcher)))
        case "boot_health":
            _ = try body.isNull ? nil : body.mapping(allowed: [])
            return .bootHealth
        case "reboot":
            _ = try body.isNull ? nil : body.mapping(allowed: [])
            return .reboot
        default:
            let fields = try body.mapping(allowed: ["run", "exit_code", "stdout", "stderr", "runtime"])
            guard fields["exit_code"] != nil || fields["stdout"] != nil || fields["stderr"] != nil else {
                throw body.error("command check needs 'exit_code', 'stdout' or 'stderr'")
            }
            return .command(CommandCheck(
                run: try fields.required("run").string(),
                exitCode: try fields["exit_code"].map(exitCode),
                stdout: try fields["stdout"].map(parseMatcher),
                stderr: try fields["stderr"].map(parseMatcher),
                runtime: try fields["runtime"]?.bool() ?? false))
        }
    }

    /// A scalar means "equals"; a one-key mapping names the matcher.
    static func parseMatcher(_ input: YAMLInput) throws -> Matcher {
        if case .scalar = input.node { return .equals(try input.string()) }
        let fields = try input.mapping(allowed: Matcher.keys)
        guard fields.keys.count == 1, let key = fields.keys.first, let value = fields[key] else {
            throw input.error("a matcher names exactly one of: \(Matcher.keys.joined(separator: ", "))")
        }
        switch key {
        case "equals": return .equals(try value.string())
        case "not": return .not(try value.string())
        case "matches", "not_matches":
            let pattern = try value.string()
            try validateRegex(pattern, at: value)
            return key == "matches" ? .matches(pattern) : .notMatches(pattern)
        case "one_of": return .oneOf(try value.strings())
        default:
            guard let number = Double(try value.string()) else { throw value.error("\(key) needs a number, got '\(try value.string())'") }
            return .compare(Matcher.Comparison(rawValue: key)!, number)
        }
    }

    static func validateRegex(_ pattern: String, at input: YAMLInput) throws {
        do { _ = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) } catch {
            throw input.error("invalid regular expression /\(pattern)/")
        }
    }

    static func absoluteGuestPath(_ input: YAMLInput) throws -> String {
        let path = try input.string()
        guard path.hasPrefix("/") else { throw input.error("path must be absolute inside the image, got '\(path)'") }
        return path
    }

    static func packageName(_ input: YAMLInput) throws -> String {
        let name = try input.string()
        guard name.range(of: #"^[a-z0-9][a-z0-9+.-]*(:[a-z0-9]+)?$"#, options: .regularExpression) != nil else {
            throw input.error("'\(name)' is not a Debian package name")
        }
        return name
    }

    // MARK: Test cases

    static func parseTest(_ item: YAMLInput) throws -> PolicyTestCase {
        let fields = try item.mapping(allowed: ["name", "facts", "reboot", "expect"])
        let name = try fields.required("name").string()
        var facts: [String: PolicyTestCase.ProbeFact] = [:]
        for (key, value) in try fields["facts"]?.freeMapping() ?? [] {
            if case .scalar = value.node {
                facts[key] = PolicyTestCase.ProbeFact(exitCode: 0, stdout: try value.string())
                continue
            }
            let probe = try value.mapping(allowed: ["exitCode", "exit_code", "stdout", "stderr"])
            let code = try (probe["exitCode"] ?? probe["exit_code"]).map(exitCode) ?? 0
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
            let status = try value.string()
            guard PolicyTestCase.statuses.contains(status) else {
                throw value.error("expected result must be one of: \(PolicyTestCase.statuses.joined(separator: ", ")), got '\(status)'")
            }
            expectations.append(PolicyTestCase.Expectation(controlID: controlID, status: status, location: value.location))
        }
        guard !expectations.isEmpty else { throw expectInput.error("test '\(name)' expects nothing") }
        return PolicyTestCase(name: name, facts: facts, reboot: reboot, expectations: expectations, location: item.location)
    }
}

extension YAMLInput {
    /// Like `mapping(allowed:)`, but an unknown or duplicate key is recorded and skipped instead of
    /// stopping, so a lint run reports all of them.
    func lenientMapping(allowed: [String], problems: inout [HallmarkError]) throws -> Mapping {
        try mapping(allowed: allowed) { problems.append($0) }
    }
}
