import ArgumentParser
import Attestation
import Catalog
import Distribution
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// `hallmark distribute NAME@VERSION --key PUB --to DIR`: ships a tested build again, through the release gate.
struct DistributeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distribute",
        abstract: "Re-distribute a tested build from the catalog to directory, OCI layout and registry targets, through the release gate.",
        discussion: """
            The build is the catalog's (NAME@1.2.0/7, or NAME@1.x.x for the newest AVAILABLE build); its \
            evidence is the report.json and report.dsse.json of its newest passing test run. Before any \
            target is touched the gate verifies the exact files: the envelope's signature with --key, \
            the image, every subject's file in the image directory with its digest, the verdict pass, \
            and report.json equal to the signed report. A refusal prints "distribution refused, no \
            target touched: <check>: <why>". Each directory target receives the build in \
            <DIR>/<image>/<version>-<build>/; an OCI layout or a registry receives it as an OCI \
            artifact tagged <version>-<build>, the envelope and report attached as referrers; \
            the catalog records one distribution per target; the build is DISTRIBUTING meanwhile.

            Exit codes: 0 shipped to every target; 1 the gate refused; 3 a target could not be written; \
            64 usage (no such build, no passing signed test run); 65 unreadable key, report or envelope.
            """)

    @Argument(help: ArgumentHelp("The build.", valueName: "NAME@VERSION[/BUILD]")) var selector: String

    @Option(name: .customLong("key"), help: ArgumentHelp("The pipeline's public key (SPKI PEM, e.g. hallmark.pub).", valueName: "PUB"))
    var publicKey: String

    @Option(
        name: .customLong("to"),
        help: ArgumentHelp(
            "A target: DIR or directory:DIR, oci-layout:DIR, or registry:HOST[:PORT]/REPOSITORY (repeat for each target).",
            valueName: "TARGET"))
    var targets: [String]

    func validate() throws {
        guard !targets.isEmpty else { throw ValidationError("name at least one target with --to DIR") }
    }

    /// `registry:HOST/REPOSITORY`, `oci-layout:DIR`, `directory:DIR` or a plain directory, relative to the working directory.
    static func parseTarget(_ text: String) throws -> PipelineDefinition.Target {
        if text.hasPrefix("registry:") {
            let repository = try RegistryReference(parsing: String(text.dropFirst("registry:".count)))
            guard repository.reference == nil else {
                throw HallmarkError(.usage, "--to \(text): a registry target names a repository; the tag is the build's <version>-<build>")
            }
            return .registry(repository.description)
        }
        if text.hasPrefix("oci-layout:") { return .ociLayout(absolutePath(String(text.dropFirst("oci-layout:".count)))) }
        if text.hasPrefix("directory:") { return .directory(absolutePath(String(text.dropFirst("directory:".count)))) }
        return .directory(absolutePath(text))
    }

    func run() async throws {
        try await runReportingErrors {
            let console = Console(quiet: false)
            let key = try VerifyingKey(pemFile: publicKey)
            let catalog = try await openCatalog(console: console)
            let build = try await catalog.resolve(BuildSelector(parsing: selector))
            guard build.state == .available else {
                throw HallmarkError(.usage, "\(build.reference) is \(build.state.rawValue); only an AVAILABLE build is distributed")
            }
            let candidate = try await Self.candidate(build, catalog: catalog)
            return try await shipThroughGate(
                build, candidate: candidate, key: key, targets: try targets.map(Self.parseTarget), catalog: catalog, otherwise: .available)
        }
    }

    /// The build's files by role from its image.json, and the evidence of its newest passing signed test run.
    static func candidate(_ build: CatalogBuild, catalog: Catalog) async throws -> ReleaseCandidate {
        let image = try ImageArtifacts.load(directory: build.directory)
        let runs = try await catalog.history(of: build).testRuns
        guard let run = runs.last(where: { $0.verdict == "pass" && $0.envelopeDigest != nil }), let reports = run.reportDirectory else {
            throw HallmarkError(
                .usage, "\(build.reference) has no passing signed test run; run hallmark test with --signing-key first")
        }
        return releaseCandidate(image, reports: reports)
    }
}
