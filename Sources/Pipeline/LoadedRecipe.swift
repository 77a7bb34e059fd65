import Compliance
import Evidence
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageBuild
import ImageStore

/// A recipe with everything it refers to, loaded and validated before anything is built or booted.
public struct LoadedRecipe: Sendable {
    public var recipe: Recipe
    public var components: [Component]
    public var policies: [Policy]
    public var waivers: Waivers?

    public static func load(path: String) throws -> LoadedRecipe {
        let recipe = try Recipe.load(path: path)
        let components = try recipe.components.map { try Component.load(path: $0.path) }
        for (component, reference) in zip(components, recipe.components) {
            let runner = ComponentRunner(component: component, parameters: reference.parameters, log: { _ in })
            do {
                _ = try runner.variables()
            } catch let error as HallmarkError {
                throw HallmarkError.invalidInput(error.message, at: reference.location)
            }
            // Every phase, the guest's test phase included, is rendered now, not when its turn comes.
            try runner.validate()
        }
        let policies: [Policy]
        do {
            policies = try Policy.loadAll(paths: recipe.tests.policies, variables: recipe.tests.variables)
        } catch let error as HallmarkError where error.location == nil {
            throw HallmarkError.invalidInput(error.message, at: recipe.tests.variablesLocation ?? SourceLocation(file: recipe.path))
        }
        // A malformed waiver file, or one naming an unknown control, stops the run before anything boots.
        let waivers = try recipe.tests.waivers.map { try Waivers.load(path: $0) }
        try waivers?.validate(against: policies.flatMap { $0.controls.map(\.id) })
        return LoadedRecipe(recipe: recipe, components: components, policies: policies, waivers: waivers)
    }

    /// Refuses to test `image` when it was made from other build inputs than this recipe and its
    /// components give now (an edited recipe tested against its old image); returns a warning for
    /// an image too old to say what it was made from.
    public func checkMadeFromThis(_ image: ImageArtifacts) throws -> String? {
        let now = recipe.buildDigest(components: components)
        guard let built = image.buildDigest else {
            return "\(image.reference) does not record what it was built from; it cannot be checked against \(recipe.path)"
        }
        guard built == now else {
            throw HallmarkError.invalidInput(
                "\(image.reference) was built from other inputs than this recipe and its components give now (built from sha256 \(built), now sha256 \(now)); build it again with `hallmark build`, or test a matching build with --build",
                at: SourceLocation(file: recipe.path))
        }
        return nil
    }

    var inputFiles: [AuditReport.InputFile] {
        [AuditReport.InputFile(kind: "recipe", path: recipe.path, sha256: recipe.digest)]
            + components.map { AuditReport.InputFile(kind: "component", path: $0.path, sha256: $0.digest) }
            + policies.flatMap(\.sources).map { AuditReport.InputFile(kind: "policy", path: $0.path, sha256: $0.sha256) }
            + (waivers.map { [AuditReport.InputFile(kind: "waivers", path: $0.path, sha256: $0.digest)] } ?? [])
    }

    /// sha256 over every input file's kind and digest, in order: a changed recipe, component,
    /// policy or waiver file changes it.
    public var inputsDigest: String {
        Digest.sha256(inputFiles.map { "\($0.kind) \($0.sha256)\n" }.joined())
    }

    /// The controls whose facts a test collects: those waived with mode "skip" are not even collected.
    func controlsToCollect(on day: Date) -> [Control] {
        let all = policies.flatMap(\.controls)
        return waivers?.controlsToEvaluate(all, on: day) ?? all
    }

    /// Every policy's results for one boot's facts, with the waivers applied.
    func evaluate(_ facts: Facts, today: Date) -> [ControlResult] {
        Evaluator.evaluate(policies, facts: facts, waivers: waivers, today: today)
    }
}
