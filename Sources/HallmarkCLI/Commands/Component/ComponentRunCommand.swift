import ArgumentParser
import Catalog
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageBuild
import ImageStore

/// `hallmark component run`: one document against an unpacked tree, in the build's sandbox,
/// to iterate on it in seconds without a whole build.
struct ComponentRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract:
            "Run one TOE component document's phases against an unpacked root filesystem or a built image's tree, in the build's sandbox (needs root).",
        discussion:
            "With --rootfs the steps change DIR as a build changes its tree. With --image the image's disk is unpacked into a scratch tree that is thrown away afterwards: the image is never changed. Exit codes: 0 every step succeeded (or was skipped or ignored), 3 a step failed, 64 usage, 65 the document or a parameter is invalid, 77 not root."
    )

    @Argument(help: "The component document (YAML).") var file: String
    @Option(help: "Unpacked root filesystem the steps run in (changed in place).") var rootfs: String?
    @Option(
        help:
            "A built image whose tree the steps run in, as the catalog names it: NAME, NAME@1.2.0, NAME@1.2.0/7 or NAME@1.x.x (a wildcard takes the newest AVAILABLE build). The tree is a throw-away copy."
    )
    var image: String?
    @Option(help: "Phases to run, comma-separated, in this order (default: build,validate, as a build runs them).")
    var phase: String = "build,validate"
    @Option(name: .customLong("parameter"), help: "A document parameter, Name=value (repeatable).") var parameters: [String] = []
    @Option(
        name: .customLong("secret"),
        help:
            "Where {{ aws:ssm:resolve(NAME) }} comes from, as a recipe's secrets: says it: NAME=env:VARIABLE or NAME=file:PATH (repeatable); unlisted names are read from Parameter Store when AWS settings are present."
    )
    var secrets: [String] = []
    @Flag(help: "Run the steps without network, as `build: {network: false}`.") var noNetwork = false
    @OptionGroup var output: JSONOutputOption

    struct Report: Encodable {
        var ok: Bool
        /// TOE's document status: Success, SuccessWithIgnoredFailure or Failed.
        var status: String
        var component: String
        var seconds: Double
        var steps: [StepRecord]
        var failure: JSONError?
    }

    func validate() throws {
        guard (rootfs == nil) != (image == nil) else { throw ValidationError("give one of --rootfs DIR and --image NAME[@VERSION]") }
        for parameter in parameters where !parameter.contains("=") {
            throw ValidationError("--parameter takes Name=value, got '\(parameter)'")
        }
        _ = try secretSources()
    }

    func secretSources() throws -> [String: SecretSource] {
        var sources: [String: SecretSource] = [:]
        for secret in secrets {
            let (name, source) = secret.split(separator: "=", maxSplits: 1).map(String.init).pair
            if source.hasPrefix("env:") {
                sources[name] = .environment(String(source.dropFirst(4)))
            } else if source.hasPrefix("file:") {
                sources[name] = .file(absolutePath(String(source.dropFirst(5))))
            } else {
                throw ValidationError("--secret takes NAME=env:VARIABLE or NAME=file:PATH, got '\(secret)'")
            }
        }
        return sources
    }

    func run() async throws {
        try await runReportingErrors {
            let component = try Component.load(path: absolutePath(file))
            var values: [String: String] = [:]
            for parameter in parameters {
                let (name, value) = parameter.split(separator: "=", maxSplits: 1).map(String.init).pair
                values[name] = value
            }
            let phases = phase.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if let unknown = phases.first(where: { component.phase(named: $0) == nil }) {
                throw HallmarkError(
                    .usage,
                    "--phase \(unknown): the document has no such phase; it has: \(component.phases.map(\.name).joined(separator: ", "))")
            }
            if let rootfs {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: rootfs, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw HallmarkError(.usage, "--rootfs \(rootfs): not a directory; give an unpacked root filesystem")
                }
            }
            guard getuid() == 0 else { throw HallmarkError(.needsRoot, "running steps in a tree needs root (the build's sandbox)") }
            let home = HallmarkHome.fromEnvironment()
            let scratch = try home.makeScratchDirectory(under: home.work, prefix: "component-run-")
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            let tree: String
            if let rootfs { tree = absolutePath(rootfs) } else { tree = try await unpackImage(into: scratch) }
            let secretValues = try await SecretValues.resolve(for: [component], sources: try secretSources())
            let runner = ComponentRunner(component: component, parameters: values, scratch: scratch + "/transfers", secrets: secretValues) {
                line in
                if !output.json { print(secretValues.redact(line)) }
            }
            try runner.validate()
            let executor = ChrootExecutor(root: tree, scratch: scratch, network: !noNetwork)
            let start = ContinuousClock.now
            var outputs: [String: String] = [:]
            var records: [StepRecord] = []
            var failure: ComponentStepFailure?
            do {
                for name in phases {
                    records += secretValues.redact(try await runner.run(phaseNamed: name, on: executor, outputs: &outputs))
                }
            } catch let error as ComponentStepFailure {
                records += secretValues.redact(error.records)
                failure = error
                failure?.message = secretValues.redact(error.message)
            }
            let seconds = (ContinuousClock.now - start).seconds
            let status = failure != nil ? "Failed" : records.contains { $0.outcome == "ignored" } ? "SuccessWithIgnoredFailure" : "Success"
            let failed = failure.map { JSONError(HallmarkError(.buildFailed, $0.message, at: $0.location)) }
            if output.json {
                try printJSON(
                    Report(ok: failure == nil, status: status, component: component.name, seconds: seconds, steps: records, failure: failed)
                )
            } else {
                if let failed { reportError(description: failed.text) }
                print("\(component.name): \(status) in \(String(format: "%.2f", seconds)) s")
            }
            return failure == nil ? .gateOpen : .infrastructure
        }
    }

    /// The `--image` build's tree, unpacked under `scratch` (removed with it).
    func unpackImage(into scratch: String) async throws -> String {
        let build = try await openCatalog().resolve(BuildSelector(parsing: image ?? ""))
        let artifacts = try ImageArtifacts.load(directory: build.directory)
        let tree = scratch + "/rootfs"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        if !output.json { print("unpacking \(artifacts.reference) into a throw-away tree") }
        try await BuiltImageTree.unpack(artifacts, into: tree, scratch: scratch, logPath: scratch + "/unpack.log")
        return tree
    }
}

extension Array where Element == String {
    /// The two halves of a `Name=value` split once.
    fileprivate var pair: (String, String) { (self[0], count > 1 ? self[1] : "") }
}
