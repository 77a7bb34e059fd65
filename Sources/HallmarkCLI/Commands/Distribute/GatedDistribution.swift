import Attestation
import Catalog
import Distribution
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// Ships a build through the release gate to directory, OCI layout and registry targets, as `distribute` and
/// `pipeline run` do: the gate first (a refusal touches no target), then DISTRIBUTING, one catalog
/// record per target, and AVAILABLE once every target has the build. A refusal or a failed target
/// leaves the build in `otherwise`.
func shipThroughGate(
    _ build: CatalogBuild, candidate: ReleaseCandidate, key: VerifyingKey, targets: [PipelineDefinition.Target], catalog: Catalog,
    otherwise: BuildState
) async throws -> ExitStatus {
    let names = targets.map(\.description).joined(separator: ", ")
    let release: VerifiedRelease
    do {
        release = try await ReleaseGate.check(candidate, publicKey: key)
    } catch let refusal as GateRefusal {
        writeStandardError("hallmark: \(UntrustedText.forTerminal(refusal.description))\n")
        for target in targets {
            try await catalog.recordDistribution(
                build, Distribution(target: target.description, state: "REFUSED", detail: refusal.description))
        }
        if build.state != otherwise { try await catalog.setState(build, otherwise, note: refusal.description) }
        return .gateClosed
    }
    let distributing = try await catalog.setState(build, .distributing, note: "to " + names)
    for target in targets {
        do {
            let detail = try await publish(release, to: target, reference: build.reference)
            try await catalog.recordDistribution(distributing, Distribution(target: target.description, state: "DONE", detail: detail))
        } catch {
            try await catalog.recordDistribution(
                distributing, Distribution(target: target.description, state: "FAILED", detail: HallmarkError.describe(error)))
            try await catalog.setState(distributing, otherwise, note: "distribution to \(target) failed")
            throw error
        }
    }
    try await catalog.setState(distributing, .available, note: "distributed to " + names)
    return .gateOpen
}

/// What a build ships: every file its signed report names (the booted files and the derived
/// outputs), with the report and envelope of the test run in `reports`.
func releaseCandidate(_ image: ImageArtifacts, reports: String) -> ReleaseCandidate {
    ReleaseCandidate(
        image: image.name, version: image.version, build: image.build,
        files: image.evidenceFiles().map { .init(role: $0.role, path: $0.path) }, reportPath: reports + "/" + ReleaseGate.reportName,
        envelopePath: reports + "/" + ReleaseGate.envelopeName)
}

/// Publishes to one target, prints a line saying where it landed, and returns what the catalog keeps.
private func publish(_ release: VerifiedRelease, to target: PipelineDefinition.Target, reference: String) async throws -> String {
    switch target {
    case .directory(let path):
        let outcome = try await DirectoryTarget(root: path).publish(release)
        print(
            "\(reference) → \(outcome.directory) (\(outcome.copied.isEmpty ? "already complete" : "copied \(outcome.copied.count) file(s)"))"
        )
        return "copied: " + (outcome.copied.isEmpty ? "nothing (already there)" : outcome.copied.joined(separator: ", "))
    case .ociLayout(let path):
        let outcome = try await OCILayoutTarget(root: path).publish(release)
        let what = outcome.written.isEmpty ? "already complete" : "wrote \(outcome.written.count) blob(s) or file(s)"
        print("\(reference) → oci:\(path):\(outcome.tag) \(outcome.manifestDigest) (\(what))")
        return "\(outcome.tag) \(outcome.manifestDigest): wrote \(outcome.written.count)"
    case .registry(let text):
        let scratch = HallmarkHome.fromEnvironment().run + "/registry-\(UUID().uuidString.prefix(8))"
        let outcome = try await RegistryTarget(repository: try RegistryReference(parsing: text), scratch: scratch).publish(release)
        let what = outcome.written.isEmpty ? "already complete" : "pushed \(outcome.written.count) blob(s), manifest(s) or tag(s)"
        print("\(reference) → \(text):\(outcome.tag) \(outcome.manifestDigest) (\(what); referrers: \(outcome.referrers))")
        return "\(outcome.tag) \(outcome.manifestDigest): pushed \(outcome.written.count); referrers: \(outcome.referrers)"
    }
}
