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
    /// Why a file action may not use `path` (an absolute path in the image), or nil when it may.
    func refusal(ofPath path: String) -> String?
    /// What a reboot means here, said once per reboot when it is not a real one.
    var rebootNote: String? { get }
    /// Why WebDownload may not reach the network here, or nil when it may: the host downloads,
    /// so a build without network must say no itself.
    var downloadRefusal: String? { get }
    /// Puts the host file `file` at `path` in the image (WebDownload); a non-zero exit says why not.
    func place(file: String, at path: String, overwrite: Bool, timeout: Duration) async throws -> StepOutput
    /// Copies the image's file `path` to the host file `file` (S3Upload); a non-zero exit says why not.
    func copyOut(_ path: String, to file: String, timeout: Duration) async throws -> StepOutput
}

extension StepExecutor {
    public var rebootNote: String? { nil }

    /// In the guest the path is the machine's own: there is no host behind it to reach.
    public func refusal(ofPath path: String) -> String? { nil }

    public var downloadRefusal: String? { nil }

    /// The file travels inside the script, so this works wherever a script runs.
    public func place(file: String, at path: String, overwrite: Bool, timeout: Duration) async throws -> StepOutput {
        let encoded = try Data(contentsOf: URL(fileURLWithPath: file)).base64EncodedString()
        let staged = "/tmp/hallmark-download-\(UUID().uuidString)"
        let script =
            "set -e\nprintf '%s' \(encoded) | base64 -d > \(staged)\ntrap 'rm -f \(staged)' EXIT\n"
            + WebDownload.placeScript(from: staged, to: path, overwrite: overwrite)
        return try await run(bashScript: script, timeout: timeout)
    }

    /// The file travels back in the script's output, base64-encoded: a guest's channel carries
    /// text. A chroot streams it instead (see there).
    public func copyOut(_ path: String, to file: String, timeout: Duration) async throws -> StepOutput {
        let output = try await run(bashScript: "set -e\nbase64 -w0 < \(shellQuoted(path))\n", timeout: timeout)
        guard output.exitCode == 0 else { return output }
        guard let data = Data(base64Encoded: output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return StepOutput(exitCode: 1, stdout: "", stderr: "'\(path)' came back garbled")
        }
        try data.write(to: URL(fileURLWithPath: file))
        return StepOutput(exitCode: 0, stdout: "", stderr: "")
    }

    /// Places a file a download action fetched on the host, within the step's timeout; nil when it
    /// landed, else what the tree's side said (the downloads name their entry around it).
    func placeFetched(_ file: String, at path: String, overwrite: Bool, step: Component.Step) async throws -> String? {
        let output = try await place(
            file: file, at: path, overwrite: overwrite, timeout: step.timeoutSeconds.map { .seconds($0) } ?? .seconds(7200))
        guard output.exitCode != 0 else { return nil }
        return (output.stderr.isEmpty ? output.stdout : output.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A step failed (as opposed to the machine it ran on): during build this stops the build; during
/// test it is a failed result of the image.
public struct ComponentStepFailure: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var location: SourceLocation
    /// The phase's steps that ran, the failed one included, for detailedoutput.json.
    public var records: [StepRecord] = []

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
    /// A host directory for what the transfer actions stage (a download before it is placed, a
    /// file on its way to S3): the build's or the command's scratch under `$HALLMARK_HOME`.
    public var scratch: String
    /// The `{{ aws:ssm:resolve(NAME) }}` values, resolved before the run; `log` gets lines already
    /// redacted by whoever made it, the records are redacted by the caller.
    public var secrets: SecretValues

    public init(
        component: Component, parameters: [String: String], scratch: String = HallmarkHome.fromEnvironment().temporary,
        secrets: SecretValues = SecretValues(), log: @escaping @Sendable (String) -> Void
    ) {
        self.component = component
        self.parameters = parameters
        self.scratch = scratch
        self.secrets = secrets
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
        values.merge(secrets.values) { $1 }
        return values
    }

    /// Renders every step of every phase with the recipe's values, before anything is built:
    /// references were checked when the document was loaded; what is left is a rendered value
    /// an action refuses (a mode chmod would not take). Values from earlier steps and loops are
    /// not known yet and render as `StepScript.pendingOutput`, which no check refuses.
    public func validate() throws {
        let variables = try variables()
        for phase in component.phases {
            for step in phase.steps {
                _ = try StepScript.bash(for: step) { variables[$0] ?? StepScript.pendingOutput }
            }
        }
    }

    static func outputName(_ phase: String, _ step: Component.Step) -> String {
        "\(phase).\(step.name).outputs.stdout"
    }

    /// TOE's `timeoutSeconds: -1`: a deadline no step reaches.
    static let noTimeout = Duration.seconds(100 * 365 * 86400)

    /// Runs every step of the phase; throws when a step fails and its onFailure is Abort.
    public func run(
        _ phaseName: Component.PhaseName, on executor: some StepExecutor,
        outputs: inout [String: String]
    ) async throws -> [StepRecord] {
        try await run(phaseNamed: phaseName.rawValue, on: executor, outputs: &outputs)
    }

    /// Runs every step of the phase named `phaseName` (any phase the document has), in order.
    /// `outputs` carries chained values between the phases of one document: each step's
    /// `outputs.stdout` and its rendered `inputs`. A step that fails with onFailure Abort throws
    /// at once (TOE: Failed); Continue runs the remaining steps, then throws (Failed); Ignore logs
    /// it (SuccessWithIgnoredFailure). A step whose `if` does not hold is skipped and counts as
    /// successful.
    public func run(
        phaseNamed phaseName: String, on executor: some StepExecutor,
        outputs: inout [String: String]
    ) async throws -> [StepRecord] {
        guard let phase = component.phase(named: phaseName) else { return [] }
        let base = try variables()
        var records: [StepRecord] = []
        var continuedFailure: (String, SourceLocation)?
        for step in phase.steps {
            var variables = base
            for (key, value) in outputs { variables[key] = value }
            let label = "[\(component.name)] \(phaseName)/\(step.name) (\(step.action.rawValue))"
            let (start, startTime) = (ContinuousClock.now, Date())
            func record(_ attempts: Int, _ exitCode: Int32, _ outcome: String, failure: String? = nil) {
                let detail = StepDetail(
                    startTime: startTime, endTime: Date(), timeoutSeconds: step.timeoutSeconds, onFailure: step.onFailure.rawValue,
                    maxAttempts: step.maxAttempts, inputs: step.disableLogging ? nil : chained(phaseName, step, outputs, "inputs"),
                    outputs: step.disableLogging ? nil : chained(phaseName, step, outputs, "outputs"), failureMessage: failure,
                    loggingDisabled: step.disableLogging)
                records.append(
                    StepRecord(
                        component: component.name, phase: phaseName, step: step.name, action: step.action.rawValue,
                        attempts: attempts, exitCode: exitCode, outcome: outcome, seconds: (ContinuousClock.now - start).seconds,
                        detail: detail))
            }
            var failure: String?
            var attempts = 0
            var exitCode: Int32 = 0
            if let condition = step.condition {
                let holds = try await StepConditions.evaluate(condition.expression, variables: variables, on: executor)
                switch holds ? condition.then : condition.otherwise {
                case .execute: break
                case .skip:
                    log("\(label) skipped: its 'if' is \(holds)")
                    record(0, 0, "skipped")
                    continue
                case .abort:
                    failure = "its 'if' is \(holds), and the step says Abort then"
                    exitCode = -1
                }
            }
            if failure == nil {
                do {
                    let iterations = try StepLoop.iterations(of: step, variables: variables)
                    var stdouts: [String] = []
                    for (index, extra) in iterations.enumerated() {
                        var values = variables
                        for (key, value) in extra { values[key] = value }
                        if iterations.count > 1 || step.loop != nil { log("\(label) iteration \(index)") }
                        if step.action == .executeDocument {
                            attempts += 1
                            try await runNested(step, values: values, on: executor, into: &records)
                            continue
                        }
                        if step.action == .reboot {
                            let result = try await attempt(
                                step, script: StepScript.bash(for: step) { values[$0] }, label: label, on: executor)
                            attempts += result.attempts
                            if let note = executor.rebootNote { log("\(label): \(note)") }
                            try await executor.reboot()
                            continue
                        }
                        if let assertion = step.assertion {
                            attempts += 1
                            if try await !StepConditions.evaluate(assertion, variables: values, on: executor) {
                                failure = "its assertion does not hold"
                                exitCode = 1
                                break
                            }
                            continue
                        }
                        if let refused = StepScript.refusedEntry(of: step, resolve: { values[$0] }, on: executor) {
                            failure = refused
                            exitCode = -1
                            break
                        }
                        if [.webDownload, .s3Download, .s3Upload].contains(step.action) {
                            // A retry reruns the whole step, every entry again.
                            var lastFailure: StepLoop.Failure?
                            for _ in 0..<step.maxAttempts {
                                attempts += 1
                                log("\(label) attempt \(attempts)")
                                do {
                                    switch step.action {
                                    case .webDownload:
                                        stdouts.append(
                                            try await WebDownload.run(
                                                step, resolve: { values[$0] }, on: executor, scratch: scratch, log: log))
                                    case .s3Download:
                                        stdouts.append(
                                            try await S3Download.run(
                                                step, resolve: { values[$0] }, on: executor, scratch: scratch, log: log))
                                    default:
                                        stdouts.append(
                                            try await S3Upload.run(step, resolve: { values[$0] }, on: executor, scratch: scratch, log: log))
                                    }
                                    lastFailure = nil
                                    break
                                } catch let failed as StepLoop.Failure {
                                    log("\(label): \(failed.message)")
                                    lastFailure = failed
                                }
                            }
                            if let lastFailure {
                                failure = lastFailure.message + " after \(attempts) attempt(s)"
                                exitCode = 1
                                break
                            }
                            continue
                        }
                        let result = try await attempt(step, script: StepScript.bash(for: step) { values[$0] }, label: label, on: executor)
                        attempts += result.attempts
                        exitCode = result.output.exitCode
                        stdouts.append(result.output.stdout.trimmingCharacters(in: .newlines))
                        if result.output.exitCode != 0 {
                            failure =
                                "failed with exit code \(result.output.exitCode) after \(result.attempts) attempt(s)"
                                + (iterations.count > 1 ? " in iteration \(index)" : "")
                                + (result.output.stderr.isEmpty || step.disableLogging
                                    ? "" : ":\n\(lastLines(of: result.output.stderr, count: 10))")
                            break
                        }
                    }
                    // TOE joins a loop's iteration outputs with newlines.
                    outputs[Self.outputName(phaseName, step)] = stdouts.joined(separator: "\n")
                    if step.action == .readFile { outputs["\(phaseName).\(step.name).outputs.content"] = stdouts.joined(separator: "\n") }
                    // TOE's ListFiles output: the paths, comma-separated.
                    if step.action == .listFiles {
                        outputs["\(phaseName).\(step.name).outputs.files"] = stdouts.flatMap { $0.split(separator: "\n") }.joined(
                            separator: ",")
                    }
                    for (key, value) in StepScript.renderedInputs(
                        of: step, variables: iterations.last.map { variables.merging($0) { $1 } } ?? variables)
                    {
                        outputs["\(phaseName).\(step.name).\(key)"] = value
                    }
                } catch let error as StepLoop.Failure {
                    failure = error.message
                    exitCode = -1
                }
            }
            guard let failure else {
                record(attempts, exitCode, "success")
                continue
            }
            record(attempts, exitCode, step.onFailure == .ignore ? "ignored" : "failed", failure: failure)
            let message = "component '\(component.name)' \(phaseName) step '\(step.name)' \(failure)"
            switch step.onFailure {
            case .abort: throw ComponentStepFailure(message: message, location: step.location, records: records)
            case .continue: continuedFailure = continuedFailure ?? (message, step.location)
            case .ignore: log("[\(component.name)] ignoring: \(message)")
            }
        }
        if let (message, location) = continuedFailure {
            throw ComponentStepFailure(message: message, location: location, records: records)
        }
        return records
    }

    /// What the step left in `outputs` under `<phase>.<step>.<kind>`, named as in the document:
    /// `stdout`, `content`, `[0].path`, `commands[1]`.
    private func chained(_ phase: String, _ step: Component.Step, _ outputs: [String: String], _ kind: String) -> [String: String]? {
        let prefix = "\(phase).\(step.name).\(kind)"
        let entries = outputs.filter { $0.key.hasPrefix(prefix) }
        guard !entries.isEmpty else { return nil }
        return Dictionary(
            uniqueKeysWithValues: entries.map { key, value in
                (String(key.dropFirst(prefix.count).drop { $0 == "." }), value)
            })
    }

    /// An ExecuteDocument step: the nested document's phases (those named, or all in its
    /// order) with the parameters given, on the same machine; its steps are recorded too. Its
    /// failure is this step's failure.
    private func runNested(
        _ step: Component.Step, values: [String: String], on executor: some StepExecutor, into records: inout [StepRecord]
    ) async throws {
        guard let text = step.inputs?["document"]?.string, let nested = component.documents[text] else {
            throw HallmarkError(.internalError, "ExecuteDocument '\(step.inputs?["document"]?.string ?? "")' was not loaded")
        }
        var parameters: [String: String] = [:]
        for entry in step.inputs?["parameters"]?.list ?? [] {
            parameters[entry["name"]?.string ?? ""] = try StepScript.render(entry["value"]!) { values[$0] }
        }
        let named = try step.inputs?["phases"].map { try StepScript.render($0) { values[$0] } }
        let phases = named.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? nested.phases.map(\.name)
        let runner = ComponentRunner(component: nested, parameters: parameters, scratch: scratch, secrets: secrets, log: log)
        var outputs: [String: String] = [:]
        for phase in phases {
            do {
                records += try await runner.run(phaseNamed: phase, on: executor, outputs: &outputs)
            } catch let failure as ComponentStepFailure {
                records += failure.records
                throw StepLoop.Failure(message: "ran '\(text)', which failed: \(failure.message)")
            }
        }
    }

    /// One step's attempts: a retry reruns the whole step; exit code 194 reboots and reruns it.
    private func attempt(_ step: Component.Step, script: String, label: String, on executor: some StepExecutor) async throws
        -> (output: StepOutput, attempts: Int)
    {
        let timeout = step.timeoutSeconds.map { Duration.seconds($0) } ?? Self.noTimeout
        var attempts = 0, reboots = 0
        var result = StepOutput(exitCode: -1, stdout: "", stderr: "")
        while attempts < step.maxAttempts {
            attempts += 1
            log("\(label) attempt \(attempts)")
            result = try await executor.run(bashScript: script, timeout: timeout)
            if !step.disableLogging {
                if !result.stdout.isEmpty { log(result.stdout.trimmingCharacters(in: .newlines)) }
                if !result.stderr.isEmpty { log(result.stderr.trimmingCharacters(in: .newlines)) }
            }
            if result.exitCode == Self.rebootExitCode, reboots < Self.maximumReboots {
                reboots += 1
                attempts -= 1
                log(
                    "\(label) asked for a reboot (exit 194)"
                        + (executor.rebootNote.map { ": \($0); it runs again" } ?? "; rebooting and running it again"))
                try await executor.reboot()
                continue
            }
            if result.exitCode == 0 { break }
        }
        return (result, attempts)
    }
}

/// Turns a TOE step into the bash script that performs it, so every executor runs the same thing.
enum StepScript {
    /// What an earlier step's output renders as while `ComponentRunner.validate` checks a
    /// component: not known before the step runs, so values made from it are not checked then.
    /// YAML text cannot hold NUL, so no real value equals it.
    static let pendingOutput = "\u{0}output\u{0}"

    /// `text` with each `{{ name }}` replaced by what `resolve` gives; the loader checked every
    /// name, so one without a value is a value no earlier step made in this run.
    static func render(_ value: InputValue, resolve: (String) -> String?) throws -> String {
        let text = value.string ?? ""
        return try Template.substitute(
            text, unclosed: HallmarkError.invalidInput("unclosed '{{' in '\(text)'; a reference is '{{ name }}'", at: value.location)
        ) { reference in
            guard let resolved = resolve(reference.name) else {
                throw HallmarkError.invalidInput(
                    "'{{ \(reference.name) }}' has no value: the step it names has not run in this run", at: value.location)
            }
            return resolved
        }
    }

    /// The first entry of a file action whose path may not be used, named with why: a `..`
    /// component, or (in the build's tree) a symbolic link that leads out of it. Nothing of the
    /// step has run then, so no entry before it is half done.
    static func refusedEntry(of step: Component.Step, resolve: (String) -> String?, on executor: some StepExecutor) -> String? {
        guard ![.executeBash, .executeBinary, .assert].contains(step.action), let inputs = step.inputs else { return nil }
        // A web address is not a path in the image.
        let hostSide: Set<String> =
            [.webDownload, .s3Download].contains(step.action) ? ["source"] : step.action == .s3Upload ? ["destination"] : []
        let entries = inputs.list ?? [inputs]
        for (index, entry) in entries.enumerated() {
            // A symbolic link's target is text the link holds, not a path written through.
            for key in ["path", "source", "destination"]
            where !(step.action == .createSymlink && key == "source") && !hostSide.contains(key) {
                guard let value = entry[key], let path = try? render(value, resolve: resolve) else { continue }
                let reason: String? =
                    path.split(separator: "/").contains("..")
                    ? "'..' is not allowed in a path; write the absolute path inside the image"
                    : executor.refusal(ofPath: path)
                if let reason { return "entry \(index + 1) (\(key) '\(path)') at \(value.location) is refused: \(reason)" }
            }
        }
        return nil
    }

    /// DeleteFile's command for one path. A `*` or `?` in the last name is a wildcard, as in TOE:
    /// every match is removed (none matching removes nothing); the rest of the path stays literal.
    static func deleteCommand(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        guard name.contains("*") || name.contains("?") else { return "rm -f -- \(shellQuoted(path))" }
        let directory = (path as NSString).deletingLastPathComponent
        let pattern = name.map { $0 == "*" || $0 == "?" ? String($0) : "\\" + String($0) }.joined()
        return "(shopt -s nullglob dotglob; cd -- \(shellQuoted(directory.isEmpty ? "/" : directory)) || exit 1; "
            + "for match in \(pattern); do rm -f -- \"$match\"; done)"
    }

    /// A step's inputs as later steps chain to them: `inputs[0].path`, `inputs.commands[1]`.
    static func renderedInputs(of step: Component.Step, variables: [String: String]) -> [(String, String)] {
        func flatten(_ value: InputValue, _ prefix: String) -> [(String, String)] {
            switch value {
            case .string: [(prefix, (try? render(value) { variables[$0] }) ?? "")]
            case .list(let items, _): items.enumerated().flatMap { flatten($1, "\(prefix)[\($0)]") }
            case .map(let entries, _): entries.flatMap { flatten($0.1, "\(prefix).\($0.0)") }
            }
        }
        return step.inputs.map { flatten($0, "inputs") } ?? []
    }

    /// The script of a step. A file action stops at its first failing entry (`set -e`), so a
    /// later entry cannot hide it.
    static func bash(for step: Component.Step, resolve: (String) -> String?) throws -> String {
        let body = try script(for: step, resolve: resolve)
        return step.action == .executeBash ? body : "set -e\n" + body
    }

    private static func script(for step: Component.Step, resolve: (String) -> String?) throws -> String {
        try withoutActuallyEscaping(resolve) { resolve in try script(for: step, escapingResolve: resolve) }
    }

    private static func script(for step: Component.Step, escapingResolve resolve: @escaping (String) -> String?) throws -> String {
        let substitute = { (value: InputValue) throws -> String in try render(value, resolve: resolve) }
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
            let directory = try step.inputs?["workingDirectory"].map(substitute)
            return (directory.map { "cd -- \(shellQuoted($0)) || exit 1\n" } ?? "")
                + (try (step.inputs?["commands"]?.list ?? []).map(substitute).joined(separator: "\n") + "\n")
        case .createFile, .appendFile:
            return try (step.inputs?.list ?? []).map { entry in
                let path = shellQuoted(try substitute(entry["path"]!))
                let content = try entry["content"].map(substitute) ?? ""
                let encoded = Data(content.utf8).base64EncodedString()
                if step.action == .appendFile {
                    // TOE appends only to a file that exists.
                    return "[ -f \(path) ] || { echo \(path) does not exist, AppendFile does not create it >&2; exit 1; }\n"
                        + "printf '%s' \(encoded) | base64 -d >> \(path)"
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
            return try (step.inputs?.list ?? []).map { deleteCommand(try substitute($0["path"]!)) }.joined(separator: "\n") + "\n"
        case .createFolder:
            return try (step.inputs?.list ?? []).map { entry in
                let path = shellQuoted(try substitute(entry["path"]!))
                var lines = ["mkdir -p -- \(path)"]
                if let permissions = try entry["permissions"].map(mode) { lines.append("chmod \(shellQuoted(permissions)) -- \(path)") }
                let owner = try entry["owner"].map(substitute), group = try entry["group"].map(substitute)
                if owner != nil || group != nil { lines.append("chown \(shellQuoted((owner ?? "") + ":" + (group ?? ""))) -- \(path)") }
                return lines.joined(separator: "\n")
            }.joined(separator: "\n") + "\n"
        case .copyFile, .copyFolder, .moveFile, .moveFolder, .createSymlink:
            return try (step.inputs?.list ?? []).map { entry in
                let source = shellQuoted(try substitute(entry["source"]!))
                let destination = shellQuoted(try substitute(entry["destination"]!))
                // TOE's overwrite (and CreateSymlink's force) default: an existing destination is replaced.
                let replace = try (entry["overwrite"] ?? entry["force"]).map(substitute)?.lowercased() != "false"
                let guardExisting =
                    replace
                    ? ""
                    : "if [ -e \(destination) ] || [ -L \(destination) ]; then echo \(destination) exists and overwrite is false >&2; exit 1; fi\n"
                let command: String =
                    switch step.action {
                    case .copyFile: "[ -f \(source) ] || { echo \(source) is not a file >&2; exit 1; }\ncp -p -- \(source) \(destination)"
                    case .copyFolder:
                        "[ -d \(source) ] || { echo \(source) is not a folder >&2; exit 1; }\nmkdir -p -- \(destination)\ncp -a -- \(source)/. \(destination)/"
                    case .moveFile: "[ -f \(source) ] || { echo \(source) is not a file >&2; exit 1; }\nmv -f -- \(source) \(destination)"
                    case .moveFolder:
                        "[ -d \(source) ] || { echo \(source) is not a folder >&2; exit 1; }\nrm -rf -- \(destination)\nmv -- \(source) \(destination)"
                    default: "ln -sfn -- \(source) \(destination)"
                    }
                return "mkdir -p -- \"$(dirname -- \(destination))\"\n" + guardExisting + command
            }.joined(separator: "\n") + "\n"
        case .deleteFolder:
            return try (step.inputs?.list ?? []).map { entry in
                let path = shellQuoted(try substitute(entry["path"]!))
                // Without force TOE removes only an empty folder.
                return try entry["force"].map(substitute)?.lowercased() == "true" ? "rm -rf -- \(path)" : "rmdir -- \(path)"
            }.joined(separator: "\n") + "\n"
        case .setFileOwner, .setFolderOwner:
            return try (step.inputs?.list ?? []).map { entry in
                let path = shellQuoted(try substitute(entry["path"]!))
                let owner = try substitute(entry["owner"]!), group = try entry["group"].map(substitute)
                let recursive = try entry["recursive"].map(substitute)?.lowercased() == "true" ? "-R " : ""
                let test = step.action == .setFileOwner ? "-f" : "-d"
                return "[ \(test) \(path) ] || { echo \(path) not found >&2; exit 1; }\n"
                    + "chown \(recursive)\(shellQuoted(owner + (group.map { ":" + $0 } ?? ""))) -- \(path)"
            }.joined(separator: "\n") + "\n"
        case .setFolderPermissions:
            return try (step.inputs?.list ?? []).map { entry in
                let path = shellQuoted(try substitute(entry["path"]!))
                let recursive = try entry["recursive"].map(substitute)?.lowercased() == "true" ? "-R " : ""
                return "[ -d \(path) ] || { echo \(path) is not a folder >&2; exit 1; }\n"
                    + "chmod \(recursive)\(shellQuoted(try mode(entry["permissions"]!))) -- \(path)"
            }.joined(separator: "\n") + "\n"
        case .updateOS:
            // apt, as on a Debian build instance: `include` upgrades only those, `exclude` holds
            // those for the upgrade and releases them after.
            let include = try (step.inputs?["include"]?.list ?? []).map { try shellQuoted(substitute($0)) }
            let exclude = try (step.inputs?["exclude"]?.list ?? []).map { try shellQuoted(substitute($0)) }
            var lines = ["apt-get update"]
            if !exclude.isEmpty { lines.append("apt-mark hold \(exclude.joined(separator: " ")) >/dev/null") }
            if !exclude.isEmpty {
                lines.append("release() { apt-mark unhold \(exclude.joined(separator: " ")) >/dev/null; }")
                lines.append("trap release EXIT")
            }
            lines.append(
                include.isEmpty
                    ? "apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade"
                    : "apt-get -y -o Dpkg::Options::=--force-confold install --only-upgrade \(include.joined(separator: " "))")
            return lines.joined(separator: "\n") + "\n"
        case .reboot:
            // Performed by the runner, after the delay this script waits.
            return try "sleep \(shellQuoted(step.inputs?["delaySeconds"].map(substitute) ?? "0"))\n"
        case .executeBinary:
            let inputs = step.inputs
            let directory = try inputs?["workingDirectory"].map(substitute)
            let program = try shellQuoted(substitute(inputs!["path"]!))
            let arguments = try (inputs?["arguments"]?.list ?? []).map { try shellQuoted(substitute($0)) }
            return (directory.map { "cd -- \(shellQuoted($0)) || exit 1\n" } ?? "") + ([program] + arguments).joined(separator: " ") + "\n"
        case .readFile:
            return "cat -- \(shellQuoted(try substitute(step.inputs!["path"]!)))\n"
        case .listFiles:
            return try listFilesScript(step.inputs?.list ?? [], substitute: substitute)
        case .setFileEncoding:
            return try setFileEncodingScript(step.inputs?.list ?? [], substitute: substitute)
        case .assert, .webDownload, .s3Download, .s3Upload:
            // Asserted, or downloaded on the host, by the runner; no script of its own.
            return ""
        case .setFilePermissions:
            return try (step.inputs?.list ?? []).map { entry in
                guard let permissions = entry["permissions"] else {
                    throw HallmarkError.invalidInput("SetFilePermissions needs 'permissions'", at: entry.location)
                }
                return "chmod \(shellQuoted(try mode(permissions))) -- \(shellQuoted(try substitute(entry["path"]!)))"
            }.joined(separator: "\n") + "\n"
        default:
            throw HallmarkError(.internalError, "action \(step.action.rawValue) has no script")
        }
    }
}
