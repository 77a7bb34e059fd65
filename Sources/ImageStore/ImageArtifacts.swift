import Foundation
import HallmarkSupport

/// A built image as it sits in `$HALLMARK_HOME/images/<name>/<version>-<build>/`, described by
/// `image.json` beside its files.
public struct ImageArtifacts: Codable, Sendable {
    public var name: String
    public var version: String
    public var build: Int
    public var recipeDigest: String
    /// `Recipe.buildDigest`: what the image was made from, so a test of an edited recipe can tell.
    /// nil in images built before Hallmark recorded it.
    public var buildDigest: String?
    public var builtAt: Date
    public var kernelVersion: String
    /// Kernel command line for direct kernel boot of the raw ext4 root.
    public var kernelCommandLine: String
    /// Artifact files relative to the image directory, by role: `disk.qcow2`, `disk.raw`, `vmlinuz`, `initrd.img`.
    public var files: [String: String]
    /// Installed packages (`name version`), from the image's dpkg database.
    public var packages: [String]
    public var steps: [StepRecord]
    /// sha256 of each file of the image directory by relative path, as `manifest.json` lists them:
    /// hashed once when the build wrote them. nil in images built before Hallmark recorded them.
    public var fileDigests: [String: String]?
    /// The time the build clamped its archives' timestamps to. nil in older images.
    public var sourceDateEpoch: Int?
    /// The outputs the recipe asked for (`tar` and `oci` are not in `files`: no test boots them).
    public var outputs: [OutputFormat]?
    /// What the tree started from. nil in images built before Hallmark recorded it.
    public var parent: ParentRecord?

    /// Directory holding the image; not stored, set when loaded.
    public var directory: String = ""

    enum CodingKeys: String, CodingKey {
        case name, version, build, recipeDigest, buildDigest, builtAt, kernelVersion, kernelCommandLine, files, packages, steps
        case fileDigests, sourceDateEpoch, outputs, parent
    }

    public init(
        name: String, version: String, build: Int, recipeDigest: String, builtAt: Date, kernelVersion: String,
        kernelCommandLine: String, files: [String: String], packages: [String], steps: [StepRecord], buildDigest: String? = nil
    ) {
        self.buildDigest = buildDigest
        self.name = name
        self.version = version
        self.build = build
        self.recipeDigest = recipeDigest
        self.builtAt = builtAt
        self.kernelVersion = kernelVersion
        self.kernelCommandLine = kernelCommandLine
        self.files = files
        self.packages = packages
        self.steps = steps
    }

    public var reference: String { "\(name) \(version)/\(build)" }

    public func path(_ role: String) -> String? { files[role].map { directory + "/" + $0 } }

    /// The disk a test boots (through an overlay): qcow2 when built, else raw.
    public var bootDisk: (path: String, format: DiskFormat) {
        if let qcow2 = path(DiskFormat.qcow2.artifactRole) { return (qcow2, .qcow2) }
        return (path(DiskFormat.raw.artifactRole)!, .raw)
    }

    public static func load(directory: String) throws -> ImageArtifacts {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: directory + "/image.json"))
        } catch {
            throw HallmarkError(.usage, "\(directory) is not a Hallmark image (no image.json)")
        }
        var artifacts = try JSONDecoder.hallmark.decode(ImageArtifacts.self, from: data)
        artifacts.directory = directory
        return artifacts
    }

    public func write(to directory: String) throws {
        let data = try JSONEncoder.hallmark.encode(self)
        try data.write(to: URL(fileURLWithPath: directory + "/image.json"))
    }
}

/// A record of one step for build.log and the report.
public struct StepRecord: Sendable, Codable, Equatable {
    public var component: String
    public var phase: String
    public var step: String
    public var action: String
    public var attempts: Int
    public var exitCode: Int32
    public var outcome: String
    public var seconds: Double
    /// What detailedoutput.json says beyond the outcome; image.json keeps only the summary.
    public var detail: StepDetail?

    public init(
        component: String, phase: String, step: String, action: String, attempts: Int, exitCode: Int32, outcome: String,
        seconds: Double, detail: StepDetail? = nil
    ) {
        self.component = component
        self.phase = phase
        self.step = step
        self.action = action
        self.attempts = attempts
        self.exitCode = exitCode
        self.outcome = outcome
        self.seconds = seconds
        self.detail = detail
    }

    /// The record without its detail, as image.json keeps it.
    public var summary: StepRecord {
        var summary = self
        summary.detail = nil
        return summary
    }
}

/// A step as awstoe's detailedoutput.json describes it: when it ran, its settings, the inputs it
/// ran with and the outputs it made (both as later steps chain to them, and left out when the step
/// sets `disableLogging`), and why it failed.
public struct StepDetail: Sendable, Codable, Equatable {
    public var startTime: Date
    public var endTime: Date
    /// nil for `timeoutSeconds: -1`, TOE's "no timeout".
    public var timeoutSeconds: Int?
    public var onFailure: String
    public var maxAttempts: Int
    public var inputs: [String: String]?
    public var outputs: [String: String]?
    public var failureMessage: String?
    public var loggingDisabled: Bool

    public init(
        startTime: Date, endTime: Date, timeoutSeconds: Int?, onFailure: String, maxAttempts: Int, inputs: [String: String]?,
        outputs: [String: String]?, failureMessage: String?, loggingDisabled: Bool
    ) {
        (self.startTime, self.endTime, self.timeoutSeconds, self.onFailure, self.maxAttempts) =
            (startTime, endTime, timeoutSeconds, onFailure, maxAttempts)
        (self.inputs, self.outputs, self.failureMessage, self.loggingDisabled) = (inputs, outputs, failureMessage, loggingDisabled)
    }
}
