import Attestation
import Catalog
import Distribution
import Foundation
import HallmarkSupport

/// Ships a build through the release gate to directory targets, as `distribute` and `pipeline run` do:
/// the gate first (a refusal touches no target), then DISTRIBUTING, one catalog record per target, and
/// AVAILABLE once every target has the build. A refusal or a failed target leaves the build in `otherwise`.
func shipThroughGate(
    _ build: CatalogBuild, candidate: ReleaseCandidate, key: VerifyingKey, targets: [String], catalog: Catalog,
    otherwise: BuildState
) async throws -> ExitStatus {
    let release: VerifiedRelease
    do {
        release = try await ReleaseGate.check(candidate, publicKey: key)
    } catch let refusal as GateRefusal {
        writeStandardError("hallmark: \(UntrustedText.forTerminal(refusal.description))\n")
        for target in targets {
            try await catalog.recordDistribution(
                build, Distribution(target: "directory:" + target, state: "REFUSED", detail: refusal.description))
        }
        if build.state != otherwise { try await catalog.setState(build, otherwise, note: refusal.description) }
        return .gateClosed
    }
    let distributing = try await catalog.setState(build, .distributing, note: "to " + targets.joined(separator: ", "))
    for target in targets {
        let name = "directory:" + target
        do {
            let outcome = try await DirectoryTarget(root: target).publish(release)
            let copied = outcome.copied.isEmpty ? "nothing (already there)" : outcome.copied.joined(separator: ", ")
            try await catalog.recordDistribution(distributing, Distribution(target: name, state: "DONE", detail: "copied: " + copied))
            let what = outcome.copied.isEmpty ? "already complete" : "copied \(outcome.copied.count) file(s)"
            print("\(build.reference) → \(outcome.directory) (\(what))")
        } catch {
            try await catalog.recordDistribution(
                distributing, Distribution(target: name, state: "FAILED", detail: HallmarkError.describe(error)))
            try await catalog.setState(distributing, otherwise, note: "distribution to \(target) failed")
            throw error
        }
    }
    try await catalog.setState(distributing, .available, note: "distributed to " + targets.joined(separator: ", "))
    return .gateOpen
}
