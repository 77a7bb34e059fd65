import Foundation
import HallmarkModel
import HallmarkSupport

/// A command of the policy's own, run in the guest (or, unless `runtime`, against the image's root filesystem).
public struct CommandCheck: Resource {
    public var run: String
    public var exitCode: Int32?
    public var stdout: Matcher?
    public var stderr: Matcher?
    /// Observes the running system: not run against an unpacked root filesystem.
    public var runtime: Bool

    public init(run: String, exitCode: Int32?, stdout: Matcher?, stderr: Matcher? = nil, runtime: Bool = false) {
        self.run = run
        self.exitCode = exitCode
        self.stdout = stdout
        self.stderr = stderr
        self.runtime = runtime
    }

    /// `run` is shell text: a variable's value is quoted for the place it lands in.
    public static let shellFields: Set<String> = ["run"]

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["run", "exit_code", "stdout", "stderr", "runtime"])
        guard fields["exit_code"] != nil || fields["stdout"] != nil || fields["stderr"] != nil else {
            throw body.error("command check needs 'exit_code', 'stdout' or 'stderr'")
        }
        let run = try fields.required("run")
        guard !(try run.string()).allSatisfy(\.isWhitespace) else {
            throw run.error("run must be a shell command, got an empty string")
        }
        self.init(
            run: try run.string(),
            exitCode: try fields["exit_code"].map { try $0.exitCode() },
            stdout: try fields["stdout"].map { try $0.matcher() },
            stderr: try fields["stderr"].map { try $0.matcher() },
            runtime: try fields["runtime"]?.bool() ?? false)
    }

    public static let kind = ResourceKind.command

    var probe: Probe { Probe(key: ProbeKey("command", run), script: run, runtime: runtime) }

    public var probes: [Probe] { [probe] }

    public func evaluate(_ facts: Facts) -> Outcome {
        let command = self, output = facts.output(probe)
        // Without an expected exit code, output is judged only from a command that succeeded: a
        // command that failed or was not found prints nothing, which would satisfy "no output".
        if command.exitCode == nil, output.exitCode != 0 {
            return Outcome(
                .error, "the command failed (exit \(output.exitCode)); its output proves nothing (set exit_code to expect a failure)",
                "exit \(output.exitCode); stdout: \(excerpt(output.stdout))"
                    + (output.stderr.isEmpty ? "" : "; stderr: \(excerpt(output.stderr))"))
        }
        var problems: [String] = []
        if let expected = command.exitCode, expected != output.exitCode {
            problems.append("exit code \(output.exitCode), expected \(expected)")
        }
        let stdout = String(trimmed(Substring(output.stdout), \.isWhitespace))
        if let matcher = command.stdout, !match(matcher, stdout) {
            problems.append("output does not satisfy: \(matcher)")
        }
        let stderr = String(trimmed(Substring(output.stderr), \.isWhitespace))
        if let matcher = command.stderr, !match(matcher, stderr) {
            problems.append("error output does not satisfy: \(matcher)")
        }
        let evidence =
            "exit \(output.exitCode); stdout: \(excerpt(stdout))" + (output.stderr.isEmpty ? "" : "; stderr: \(excerpt(output.stderr))")
        return problems.isEmpty
            ? Outcome(.pass, "command succeeded as required", evidence) : Outcome(.fail, problems.joined(separator: "; "), evidence)
    }
}
