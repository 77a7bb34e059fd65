import Foundation
import HallmarkSupport

/// TOE's dynamic reference `{{ aws:ssm:resolve(NAME) }}`: a value kept out of the document, resolved
/// when the component runs. A recipe's `secrets:` says where each comes from on the build host (an
/// environment variable or a file, never the recipe's text); a name it does not list is read from
/// AWS Systems Manager Parameter Store when AWS settings are present.
public enum SecretReference {
    /// The parameter name of `aws:ssm:resolve(NAME)`, or nil when `reference` is not one.
    public static func parameterName(_ reference: String) -> String? {
        guard let match = reference.wholeMatch(of: /aws:ssm:resolve\(([A-Za-z0-9_.\/:-]+)\)/) else { return nil }
        return String(match.1)
    }

    public static func reference(_ name: String) -> String { "aws:ssm:resolve(\(name))" }
}

/// Where one secret's value comes from on the build host.
public enum SecretSource: Sendable, Equatable {
    case environment(String)
    case file(String)
}

extension Recipe {
    /// `secrets: {NAME: {env: VARIABLE} | {file: PATH}}`; a path is relative to the recipe.
    static func parseSecrets(_ input: YAMLInput?, directory: String) throws -> [String: SecretSource] {
        var secrets: [String: SecretSource] = [:]
        for (name, value) in try input?.freeMapping() ?? [] {
            guard SecretReference.parameterName(SecretReference.reference(name)) != nil else {
                throw value.error("'\(name)' is not a parameter name for aws:ssm:resolve (letters, digits, '_', '.', '/', ':', '-')")
            }
            let fields = try value.mapping(allowed: ["env", "file"])
            switch (fields["env"], fields["file"]) {
            case (let variable?, nil):
                let text = try variable.string()
                guard text.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil else {
                    throw variable.error("env must be an environment variable name (letters, digits, '_'), got '\(text)'")
                }
                secrets[name] = .environment(text)
            case (nil, let file?):
                secrets[name] = .file(resolve(try file.string(), relativeTo: directory))
            default:
                throw value.error("secret '\(name)' needs exactly one of: env (a variable of the build's environment), file (a path)")
            }
        }
        return secrets
    }
}
