import Foundation
import HallmarkSupport

/// An AWS TOE component document (`schemaVersion: 1.0`), accepted as users already write them.
public struct Component: Sendable {
    public var name: String
    public var description: String?
    public var parameters: [Parameter]
    public var constants: [String: String]
    public var phases: [Phase]
    public var path: String
    public var digest: String

    public struct Parameter: Sendable {
        public var name: String
        public var type: String
        public var defaultValue: String?
        public var description: String?
    }

    public struct Phase: Sendable {
        public var name: PhaseName
        public var steps: [Step]
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
        public var timeoutSeconds: Int?
        public var location: SourceLocation
    }

    /// The TOE actions Hallmark runs.
    public enum Action: String, Sendable, CaseIterable {
        case executeBash = "ExecuteBash"
        case createFile = "CreateFile"
        case appendFile = "AppendFile"
        case deleteFile = "DeleteFile"
        case createFolder = "CreateFolder"
        case setFilePermissions = "SetFilePermissions"
    }

    public enum OnFailure: String, Sendable {
        case abort = "Abort", `continue` = "Continue", ignore = "Ignore"
    }

    public func phase(_ name: PhaseName) -> Phase? { phases.first { $0.name == name } }

    /// How often a step may be tried, and how long one attempt may take (TOE's default is 7200 s).
    static let maximumAttempts = 1...100
    static let stepTimeoutSeconds = 1...86400

    /// Whether `text` is a mode `chmod` takes as TOE's `permissions` means it: three or four octal digits.
    public static func isOctalMode(_ text: String) -> Bool {
        text.range(of: "^[0-7]{3,4}$", options: .regularExpression) != nil
    }
}

extension Component {
    public static func load(path: String) throws -> Component {
        let input = try YAMLInput.load(path: path, context: "component", aliases: .componentLimit)
        let root = try input.mapping(allowed: ["name", "description", "schemaVersion", "parameters", "constants", "phases"])
        let schemaInput = try root.required("schemaVersion")
        guard ["1.0", "1"].contains(try schemaInput.string()) else {
            throw schemaInput.error("schemaVersion must be 1.0, got '\(try schemaInput.string())'")
        }
        let phases = try root.required("phases").sequence().map(parsePhase)
        var seen = Set<PhaseName>()
        for (index, phase) in phases.enumerated() where !seen.insert(phase.name).inserted {
            throw try root.required("phases").sequence()[index].error("phase '\(phase.name.rawValue)' appears twice")
        }
        // Names appear in logs, summary.md and report.html; the control-id alphabet keeps them
        // plain text there. Inner spaces are allowed because AWS component names may have them.
        let nameInput = try root.required("name")
        let name = try nameInput.string()
        guard name.range(of: #"^[A-Za-z0-9]([A-Za-z0-9._: -]*[A-Za-z0-9._:-])?$"#, options: .regularExpression) != nil else {
            throw nameInput.error("component name must be letters, digits, '.', '_', ':', '-' or inner spaces, got '\(name)'")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return Component(
            name: name,
            description: try root["description"]?.string(),
            parameters: try root["parameters"]?.sequence().map(parseParameter) ?? [],
            constants: try parseConstants(root["constants"]),
            phases: phases,
            path: path,
            digest: Digest.sha256(data))
    }

    // TOE writes each parameter as a one-key mapping: `- Name: {type: string, default: x}`.
    private static func parseParameter(_ item: YAMLInput) throws -> Parameter {
        let entries = try item.freeMapping()
        guard entries.count == 1, let (name, body) = entries.first else {
            throw item.error("each parameter is a one-key mapping: '- Name: {type: string, default: value}'")
        }
        let fields = try body.mapping(allowed: ["type", "default", "description"])
        let type = try fields.required("type").string()
        guard type == "string" else { throw try fields.required("type").error("parameter type must be 'string', got '\(type)'") }
        return Parameter(
            name: name, type: type, defaultValue: try fields["default"]?.string(), description: try fields["description"]?.string())
    }

    private static func parseConstants(_ input: YAMLInput?) throws -> [String: String] {
        var constants: [String: String] = [:]
        for item in try input?.sequence() ?? [] {
            let entries = try item.freeMapping()
            guard entries.count == 1, let (name, body) = entries.first else {
                throw item.error("each constant is a one-key mapping: '- Name: {type: string, value: x}'")
            }
            let fields = try body.mapping(allowed: ["type", "value"])
            constants[name] = try fields.required("value").string()
        }
        return constants
    }

    private static func parsePhase(_ item: YAMLInput) throws -> Phase {
        let fields = try item.mapping(allowed: ["name", "steps"])
        let nameInput = try fields.required("name")
        guard let name = PhaseName(rawValue: try nameInput.string()) else {
            throw nameInput.error("phase name must be build, validate or test, got '\(try nameInput.string())'")
        }
        let steps = try fields.required("steps").sequence().map(parseStep)
        var names = Set<String>()
        for (index, step) in steps.enumerated() where !names.insert(step.name).inserted {
            throw try fields.required("steps").sequence()[index].error("step name '\(step.name)' is used twice in phase '\(name.rawValue)'")
        }
        return Phase(name: name, steps: steps)
    }

    private static func parseStep(_ item: YAMLInput) throws -> Step {
        let fields = try item.mapping(allowed: ["name", "action", "inputs", "onFailure", "maxAttempts", "timeoutSeconds"])
        let stepName = try fields.required("name").string()
        let actionInput = try fields.required("action")
        guard let action = Action(rawValue: try actionInput.string()) else {
            throw actionInput.error(
                "unsupported action '\(try actionInput.string())'; supported: \(Action.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var onFailure = OnFailure.abort
        if let input = fields["onFailure"] {
            guard let value = OnFailure(rawValue: try input.string()) else {
                throw input.error("onFailure must be Abort, Continue or Ignore")
            }
            onFailure = value
        }
        let maxAttempts = try fields["maxAttempts"].map { try $0.int(in: maximumAttempts, "maxAttempts") } ?? 1
        let timeoutSeconds = try fields["timeoutSeconds"].map { try $0.int(in: stepTimeoutSeconds, "timeoutSeconds") }
        let inputs = try fields["inputs"]?.value()
        try validateInputs(inputs, for: action, step: stepName, at: item)
        return Step(
            name: stepName, action: action, inputs: inputs, onFailure: onFailure, maxAttempts: maxAttempts,
            timeoutSeconds: timeoutSeconds, location: item.location)
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
        case .createFile, .appendFile, .deleteFile, .createFolder, .setFilePermissions:
            guard let entries = inputs?.list, !entries.isEmpty else { throw fail("inputs must be a list of entries with 'path'") }
            let allowed: [String] =
                switch action {
                case .createFile: ["path", "content", "permissions", "owner", "group", "overwrite"]
                case .appendFile: ["path", "content"]
                case .setFilePermissions: ["path", "permissions"]
                default: ["path", "recursive", "force"]
                }
            for entry in entries {
                guard let path = entry["path"], let text = path.string else { throw fail("each entry needs a 'path'", entry.location) }
                // A path with a {{ }} reference is checked once rendered, when the step runs.
                guard text.hasPrefix("/") || text.contains("{{") else {
                    throw fail("path must be an absolute path inside the image, such as /etc/motd; got '\(text)'", path.location)
                }
                if action == .setFilePermissions, entry["permissions"]?.string == nil {
                    throw fail("each entry needs 'permissions', an octal mode such as \"0644\"", entry.location)
                }
                if let unknown = entry.keys.first(where: { !allowed.contains($0) }) {
                    throw fail("unknown key '\(unknown)'; expected one of: \(allowed.joined(separator: ", "))", entry.location)
                }
            }
        }
    }
}
