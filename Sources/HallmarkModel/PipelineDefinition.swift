import Foundation
import HallmarkSupport

/// A release pipeline: which recipe to build, how its tests gate, which key signs, where a build
/// that passes goes and how long builds are kept. Read from YAML; unknown keys are errors at their
/// file:line:column.
public struct PipelineDefinition: Sendable {
    public var name: String
    /// Absolute path of the recipe.
    public var recipe: String
    /// Overrides the recipe's `tests.gate` when set.
    public var gate: Severity?
    /// Overrides the recipe's `tests.waivers` when set (absolute path).
    public var waivers: String?
    /// The private key that signs the evidence; verification before distribution uses its public key.
    public var signingKey: String?
    public var targets: [Target]
    public var lifecycle: Lifecycle?
    /// The archives `--if-updates` reads for newer parent packages; nil: the parent's defaults
    /// (its suite and -updates on its mirror, -security on the security archive).
    public var updateSources: [UpdateSource]?
    /// Absolute path of the pipeline file.
    public var path: String

    /// Where a build goes. Paths are absolute; a registry is `host:port/repository`.
    public enum Target: Sendable, Equatable, CustomStringConvertible {
        case directory(String)
        case registry(String)
        case ociLayout(String)

        public var description: String {
            switch self {
            case .directory(let path): "directory:\(path)"
            case .registry(let reference): "registry:\(reference)"
            case .ociLayout(let path): "oci-layout:\(path)"
            }
        }
    }

    /// A suite of a Debian archive: `{url: http://deb.debian.org/debian, suite: bookworm-updates}`.
    public struct UpdateSource: Sendable, Equatable {
        public var url: String
        public var suite: String
    }

    /// How long builds are kept: `hallmark lifecycle apply` and `pipeline run` after a distribution.
    public struct Lifecycle: Sendable, Equatable {
        /// Keep this many newest builds; older ones are deprecated.
        public var keep: Int?
        /// Deprecate builds older than this many days.
        public var deprecateAfterDays: Int?
        /// Delete retired builds (beyond `keep`, past `deprecate_after`, or DEPRECATED) older than this many days.
        public var deleteAfterDays: Int?
        /// Never retire below this many AVAILABLE builds, whatever `keep` and the age say.
        public var retainAtLeast: Int

        public init(keep: Int?, deprecateAfterDays: Int?, deleteAfterDays: Int? = nil, retainAtLeast: Int) {
            (self.keep, self.deprecateAfterDays, self.deleteAfterDays, self.retainAtLeast) =
                (keep, deprecateAfterDays, deleteAfterDays, retainAtLeast)
        }

        /// `90d` as 90; nil for anything else. The one spelling of an age, in files and on the command line.
        public static func days(_ text: String) -> Int? {
            guard text.hasSuffix("d"), let count = Int(text.dropLast()), count > 0 else { return nil }
            return count
        }
    }

    static let targetKinds = ["directory", "registry", "oci-layout"]

    /// Loads and validates a pipeline file; every problem is reported at its file:line:column.
    public static func load(path: String) throws -> PipelineDefinition {
        let absolute = absolutePath(path)
        let input = try YAMLInput.load(path: absolute, context: "pipeline")
        let root = try input.mapping(allowed: ["name", "recipe", "tests", "signing", "distribute", "lifecycle", "updates"])
        let directory = (absolute as NSString).deletingLastPathComponent

        let nameInput = try root.required("name")
        let name = try nameInput.string()
        guard name.range(of: #"^[a-z0-9][a-z0-9._-]*$"#, options: .regularExpression) != nil else {
            throw nameInput.error("name must be lowercase letters, digits, '.', '_' or '-', got '\(name)'")
        }
        let recipeInput = try root.required("recipe")
        let recipe = resolve(try recipeInput.string(), relativeTo: directory)
        try UserFile.check(recipe, what: "recipe file", at: recipeInput.location)

        var gate: Severity?
        var waivers: String?
        if let tests = try root["tests"]?.mapping(allowed: ["gate", "waivers"]) {
            if let gateInput = tests["gate"] {
                guard let severity = Severity(rawValue: try gateInput.string()) else {
                    throw gateInput.error("gate must be a severity: \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                gate = severity
            }
            if let waiverInput = tests["waivers"] {
                waivers = resolve(try waiverInput.string(), relativeTo: directory)
                try UserFile.check(waivers!, what: "waiver file", at: waiverInput.location)
            }
        }
        var signingKey: String?
        if let signing = try root["signing"]?.mapping(allowed: ["key"]) {
            let keyInput = try signing.required("key")
            signingKey = resolve(try keyInput.string(), relativeTo: directory)
            try UserFile.check(signingKey!, what: "signing key", at: keyInput.location)
        }
        let targets =
            try root["distribute"]?.sequence().map { item in
                try parseTarget(item, directory: directory)
            } ?? []
        if !targets.isEmpty, signingKey == nil, let distribute = root["distribute"] {
            throw distribute.error("distribute needs signing.key: only signed evidence that verifies is distributed")
        }
        var updateSources: [UpdateSource]?
        if let updates = try root["updates"]?.mapping(allowed: ["sources"]) {
            updateSources = try updates.required("sources").sequence().map { item in
                let fields = try item.mapping(allowed: ["url", "suite"])
                let urlInput = try fields.required("url")
                let url = try urlInput.string()
                guard url.hasPrefix("http://") || url.hasPrefix("https://") || url.hasPrefix("file:///") else {
                    throw urlInput.error("url must be an http://, https:// or file:/// archive root, got '\(url)'")
                }
                return UpdateSource(url: url, suite: try fields.required("suite").string())
            }
        }
        return PipelineDefinition(
            name: name, recipe: recipe, gate: gate, waivers: waivers, signingKey: signingKey, targets: targets,
            lifecycle: try root["lifecycle"].map(parseLifecycle), updateSources: updateSources, path: absolute)
    }

    static func parseTarget(_ item: YAMLInput, directory: String) throws -> Target {
        let fields = try item.mapping(allowed: targetKinds)
        guard fields.keys.count == 1, let kind = fields.keys.first, let value = fields[kind] else {
            throw item.error("a distribute entry names exactly one of \(targetKinds.joined(separator: ", ")), got \(fields.keys.count)")
        }
        let text = try value.string()
        switch kind {
        case "directory": return .directory(resolve(text, relativeTo: directory))
        case "oci-layout": return .ociLayout(resolve(text, relativeTo: directory))
        default:
            // host[:port]/repository, the repository in the distribution spec's lowercase path grammar.
            let pattern = #"^[A-Za-z0-9.-]+(:[0-9]+)?/[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$"#
            guard text.range(of: pattern, options: .regularExpression) != nil else {
                throw value.error("registry must be host[:port]/repository (e.g. 127.0.0.1:5000/images/base), got '\(text)'")
            }
            return .registry(text)
        }
    }

    static func parseLifecycle(_ input: YAMLInput) throws -> Lifecycle {
        let fields = try input.mapping(allowed: ["keep", "deprecate_after", "delete_after", "retain_at_least"])
        func age(_ key: String) throws -> Int? {
            guard let ageInput = fields[key] else { return nil }
            let text = try ageInput.string()
            guard let days = Lifecycle.days(text) else {
                throw ageInput.error("\(key) must be a number of days such as 90d, got '\(text)'")
            }
            return days
        }
        let deprecateAfter = try age("deprecate_after")
        let deleteAfter = try age("delete_after")
        if let deleteAfter, let deprecateAfter, deleteAfter <= deprecateAfter, let deleteInput = fields["delete_after"] {
            throw deleteInput.error("delete_after (\(deleteAfter)d) must be longer than deprecate_after (\(deprecateAfter)d)")
        }
        return Lifecycle(
            keep: try fields["keep"]?.int(in: 1...10_000, "keep"), deprecateAfterDays: deprecateAfter, deleteAfterDays: deleteAfter,
            retainAtLeast: try fields["retain_at_least"]?.int(in: 1...10_000, "retain_at_least") ?? 1)
    }
}
