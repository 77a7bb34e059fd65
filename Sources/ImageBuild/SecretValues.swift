import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// The values of the `{{ aws:ssm:resolve(NAME) }}` references a run's components make, resolved
/// before any step runs: from the recipe's `secrets:` (an environment variable or a file of the
/// build host), else from AWS Systems Manager Parameter Store through the host's `aws` CLI when
/// AWS settings are present. A value is never written anywhere: `redact` replaces it in every line
/// of the build log, every record and every message.
public struct SecretValues: Sendable {
    /// `aws:ssm:resolve(NAME)` → its value.
    public private(set) var values: [String: String] = [:]

    public init() {}

    /// The names every phase of `components` references, in the order first met.
    static func names(in components: [Component]) -> [String] {
        var seen: [String] = []
        func visit(_ component: Component) {
            for step in component.phases.flatMap(\.steps) {
                for (text, _) in ComponentReferences.texts(of: step) {
                    _ = try? Template.substitute(text, unclosed: HallmarkError(.invalidInput, "")) { reference in
                        if let name = SecretReference.parameterName(reference.name), !seen.contains(name) { seen.append(name) }
                        return ""
                    }
                }
            }
            for nested in component.documents.values { visit(nested) }
        }
        components.forEach(visit)
        return seen
    }

    /// Whether the environment says where AWS is: then a name the recipe does not list is asked of Parameter Store.
    static func awsConfigured(_ environment: [String: String]) -> Bool {
        ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]
            .contains { !(environment[$0] ?? "").isEmpty }
    }

    public static func resolve(
        for components: [Component], sources: [String: SecretSource], environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws -> SecretValues {
        var secrets = SecretValues()
        for name in names(in: components) {
            let value: String
            switch sources[name] {
            case .environment(let variable)?:
                guard let text = environment[variable] else {
                    throw HallmarkError(
                        .usage, "secret '\(name)' comes from the environment variable \(variable) (the recipe's secrets:), which is not set"
                    )
                }
                value = text
            case .file(let path)?:
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw HallmarkError(.usage, "secret '\(name)' comes from \(path) (the recipe's secrets:), which cannot be read")
                }
                // A file written by `echo` ends in a newline that is not part of the value.
                value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
            case nil:
                guard awsConfigured(environment) else {
                    throw HallmarkError(
                        .usage,
                        "a component references {{ \(SecretReference.reference(name)) }}, which the recipe's secrets: does not list, and no AWS settings (AWS_ENDPOINT_URL, AWS_PROFILE, AWS_ACCESS_KEY_ID) say where Parameter Store is"
                    )
                }
                value = try await parameterStore(name)
            }
            secrets.values[SecretReference.reference(name)] = value
        }
        return secrets
    }

    /// `aws ssm get-parameter --with-decryption`: the CLI reads the standard AWS settings as AWS documents them.
    static func parameterStore(_ name: String) async throws -> String {
        let output: String
        do {
            output = try await HostCommand(
                "aws", ["ssm", "get-parameter", "--name", name, "--with-decryption", "--query", "Parameter.Value", "--output", "text"]
            ).output()
        } catch let error as HallmarkError {
            throw HallmarkError(.usage, "secret '\(name)' from Parameter Store: \(error.message)")
        }
        return output.trimmingCharacters(in: .newlines)
    }

    /// `text` with every value replaced by `***` (the longest first, so one value inside another is covered).
    public func redact(_ text: String) -> String {
        var result = text
        for value in values.values.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            result = result.replacingOccurrences(of: value, with: "***")
        }
        return result
    }

    public func redact(_ records: [StepRecord]) -> [StepRecord] {
        guard !values.isEmpty else { return records }
        return records.map { record in
            guard var detail = record.detail else { return record }
            detail.inputs = detail.inputs?.mapValues(redact)
            detail.outputs = detail.outputs?.mapValues(redact)
            detail.failureMessage = detail.failureMessage.map(redact)
            var redacted = record
            redacted.detail = detail
            return redacted
        }
    }
}
