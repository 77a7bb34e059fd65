import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// What one step's script printed and how it ended.
public typealias StepOutput = CommandOutput

/// Where component steps run: a chroot of the rootfs during build, the booted guest during test.
public protocol StepExecutor: Sendable {
    /// Runs a bash script as root and returns its output.
    func run(bashScript: String, timeout: Duration) async throws -> StepOutput
    /// Reboots the machine for TOE's exit code 194; a chroot has nothing to reboot.
    func reboot() async throws
}

/// A step failed (as opposed to the machine it ran on): during build this stops the build; during
/// test it is a failed result of the image.
public struct ComponentStepFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation

    public var description: String { "\(location): \(message)" }
}

/// Runs a TOE component's phase step by step, as AWS TOE does: parameters and constants
/// substituted, `{{ phase.step.outputs.stdout }}` chaining, retries, timeouts, onFailure and
/// exit code 194 (reboot, then rerun the step).
public struct ComponentRunner: Sendable {
    /// TOE's "reboot and run this step again" exit code.
    public static let rebootExitCode: Int32 = 194
    static let maximumReboots = 5

    public var component: Component
    public var parameters: [String: String]
    public var log: @Sendable (String) -> Void

    public init(component: Component, parameters: [String: String], log: @escaping @Sendable (String) -> Void) {
        self.component = component
        self.parameters = parameters
        self.log = log
    }

    /// The values `{{ name }}` resolves to: recipe parameters over defaults, then constants.
    public func variables() throws -> [String: String] {
        var values = component.constants
        for parameter in component.parameters {
            guard let value = parameters[parameter.name] ?? parameter.defaultValue else {
                throw HallmarkError.invalidInput(
                    "component '\(component.name)' needs the parameter '\(parameter.name)', which has no default and is not set in the recipe"
                )
            }
            values[parameter.name] = value
        }
        if let unknown = parameters.keys.sorted().first(where: { name in !component.parameters.contains { $0.name == name } }) {
            throw HallmarkError.invalidInput(
                "component '\(component.name)' has no parameter '\(unknown)'; it takes: \(component.parameters.map(\.name).joined(separator: ", "))"
            )
        }
        return values
    }

    /// Renders every step of every phase as it will run, before anything is built: an unknown
    /// `{{ name }}`, an unclosed `{{`, a reference to an output no earlier step of the same run
    /// makes, or an invalid rendered value fails here, at its file:line:column. Build and validate
    /// share their outputs (one chroot); the test phase runs in the guest with outputs of its own.
    public func validate() throws {
        let base = try variables()
        var variables = base
        for phaseName in Component.PhaseName.allCases {
            if phaseName == .test { variables = base }
            for step in component.phase(phaseName)?.steps ?? [] {
                _ = try StepScript.bash(for: step, variables: variables)
                variables[Self.outputName(phaseName, step)] = StepScript.pendingOutput
            }
        }
    }

    static func outputName(_ phase: Component.PhaseName, _ step: Component.Step) -> String {
        "\(phase.rawValue).\(step.name).outputs.stdout"
    }

    /// Runs every step of the phase; throws when a step fails and its onFailure is Abort.
    public func run(
        _ phaseName: Component.PhaseName, on executor: some StepExecutor,
        outputs: inout [String: String]
    ) async throws -> [StepRecord] {
        guard let phase = component.phase(phaseName) else { return [] }
        var variables = try variables()
        var records: [StepRecord] = []
        var continuedFailure: (String, SourceLocation)?
        for step in phase.steps {
            for (key, value) in outputs { variables[key] = value }
            let script = try StepScript.bash(for: step, variables: variables)
            let timeout = Duration.seconds(step.timeoutSeconds ?? 7200)
            let start = ContinuousClock.now
            var attempts = 0, reboots = 0
            var result = StepOutput(exitCode: -1, stdout: "", stderr: "")
            while attempts < step.maxAttempts {
                attempts += 1
                log("[\(component.name)] \(phaseName.rawValue)/\(step.name) (\(step.action.rawValue)) attempt \(attempts)")
                result = try await executor.run(bashScript: script, timeout: timeout)
                if !result.stdout.isEmpty { log(result.stdout.trimmingCharacters(in: .newlines)) }
                if !result.stderr.isEmpty { log(result.stderr.trimmingCharacters(in: .newlines)) }
                if result.exitCode == Self.rebootExitCode, reboots < Self.maximumReboots {
                    reboots += 1
                    attempts -= 1
                    log("[\(component.name)] step \(step.name) asked for a reboot (exit 194); rebooting and running it again")
                    try await executor.reboot()
                    continue
                }
                if result.exitCode == 0 { break }
            }
            outputs[Self.outputName(phaseName, step)] = result.stdout.trimmingCharacters(in: .newlines)
            let succeeded = result.exitCode == 0
            let outcome = succeeded ? "success" : (step.onFailure == .ignore ? "ignored" : "failed")
            records.append(
                StepRecord(
                    component: component.name, phase: phaseName.rawValue, step: step.name, action: step.action.rawValue,
                    attempts: attempts, exitCode: result.exitCode, outcome: outcome, seconds: (ContinuousClock.now - start).seconds))
            guard !succeeded else { continue }
            let message =
                "component '\(component.name)' \(phaseName.rawValue) step '\(step.name)' failed with exit code \(result.exitCode) after \(attempts) attempt(s)"
                + (result.stderr.isEmpty ? "" : ":\n\(lastLines(of: result.stderr, count: 10))")
            switch step.onFailure {
            case .abort: throw ComponentStepFailure(message: message, location: step.location)
            case .continue: continuedFailure = continuedFailure ?? (message, step.location)
            case .ignore: log("[\(component.name)] ignoring: \(message)")
            }
        }
        if let (message, location) = continuedFailure { throw ComponentStepFailure(message: message, location: location) }
        return records
    }
}

/// Turns a TOE step into the bash script that performs it, so every executor runs the same thing.
enum StepScript {
    /// What an earlier step's output renders as while `ComponentRunner.validate` checks a
    /// component: not known before the step runs, so values made from it are not checked then.
    /// YAML text cannot hold NUL, so no real value equals it.
    static let pendingOutput = "\u{0}output\u{0}"

    static func bash(for step: Component.Step, variables: [String: String]) throws -> String {
        let substitute = { (value: InputValue) throws -> String in
            try Template.render(value.string ?? "", variables: variables, at: value.location)
        }
        // A mode chmod would refuse fails the component when it is loaded, not mid-build.
        let mode = { (value: InputValue) throws -> String in
            let text = try substitute(value)
            guard Component.isOctalMode(text) || text.contains(pendingOutput) else {
                throw HallmarkError.invalidInput(
                    "permissions must be an octal mode of three or four digits 0-7 (e.g. \"0644\"), got '\(text)'", at: value.location)
            }
            return text
        }
        switch step.action {
        case .executeBash:
            return try (step.inputs?["commands"]?.list ?? []).map(substitute).joined(separator: "\n") + "\n"
        case .createFile, .appendFile:
            return try (step.inputs?.list ?? []).map { entry in
                let path = shellQuoted(try substitute(entry["path"]!))
                let content = try entry["content"].map(substitute) ?? ""
                let encoded = Data(content.utf8).base64EncodedString()
                if step.action == .appendFile {
                    return "printf '%s' \(encoded) | base64 -d >> \(path)"
                }
                var lines = ["mkdir -p \"$(dirname \(path))\""]
                if try entry["overwrite"].map(substitute) == "false" {
                    lines.append("if [ -e \(path) ]; then echo \(path) exists and overwrite is false >&2; exit 1; fi")
                }
                lines.append("printf '%s' \(encoded) | base64 -d > \(path)")
                if let permissions = try entry["permissions"].map(mode) { lines.append("chmod \(shellQuoted(permissions)) \(path)") }
                let owner = try entry["owner"].map(substitute), group = try entry["group"].map(substitute)
                if owner != nil || group != nil { lines.append("chown \(shellQuoted((owner ?? "") + ":" + (group ?? ""))) \(path)") }
                return lines.joined(separator: "\n")
            }.joined(separator: "\n") + "\n"
        case .deleteFile:
            return try (step.inputs?.list ?? []).map { "rm -f -- \(shellQuoted(try substitute($0["path"]!)))" }.joined(separator: "\n")
                + "\n"
        case .createFolder:
            return try (step.inputs?.list ?? []).map { "mkdir -p -- \(shellQuoted(try substitute($0["path"]!)))" }.joined(separator: "\n")
                + "\n"
        case .setFilePermissions:
            return try (step.inputs?.list ?? []).map { entry in
                guard let permissions = entry["permissions"] else {
                    throw HallmarkError.invalidInput("SetFilePermissions needs 'permissions'", at: entry.location)
                }
                return "chmod \(shellQuoted(try mode(permissions))) -- \(shellQuoted(try substitute(entry["path"]!)))"
            }.joined(separator: "\n") + "\n"
        }
    }
}
