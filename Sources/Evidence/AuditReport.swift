import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport

/// `report.json`: what was tested, with what, how long each phase took, and every control's result.
/// `schemaVersion` changes whenever a field changes meaning or disappears.
public struct AuditReport: Codable, Sendable {
    public static let currentSchemaVersion = "1.0"

    public var schemaVersion = AuditReport.currentSchemaVersion
    public var tool: Tool
    public var image: Image
    public var host: Host
    public var inputs: [InputFile]
    public var timings: StageTimings
    /// Each boot's profile, first boot then reboot; nil when no guest booted.
    public var bootProfiles: [BootProfile]?
    public var gate: Gate
    public var counts: [String: Int]
    public var controls: [ControlEntry]
    public var startedAt: Date
    public var finishedAt: Date
    /// Digest of facts.json, the raw evidence the results were computed from.
    public var factsSHA256: String?

    public struct Tool: Codable, Sendable {
        public var name = "hallmark"
        public var version: String

        public init(version: String) { self.version = version }
    }

    public struct Image: Codable, Sendable {
        public var name: String
        public var version: String
        public var build: Int
        public var artifacts: [Artifact]
        /// What the image's tree started from. nil in reports of images built before Hallmark recorded it.
        public var parent: Parent?

        public init(name: String, version: String, build: Int, artifacts: [Artifact], parent: Parent? = nil) {
            (self.name, self.version, self.build, self.artifacts) = (name, version, build, artifacts)
            self.parent = parent
        }
    }

    /// The parent as image.json records it: the signed identity of what the image was made from.
    public struct Parent: Codable, Sendable, Equatable {
        /// `debian`, `tarball`, `disk` or `image`.
        public var kind: String
        /// The suite, the host path of the tarball or disk, or the parent image as `name version/build`.
        public var reference: String
        /// sha256 of the tarball, the disk, the parent image's disk; for a suite the parent cache key.
        public var sha256: String

        public init(kind: String, reference: String, sha256: String) {
            (self.kind, self.reference, self.sha256) = (kind, reference, sha256)
        }
    }

    public struct Artifact: Codable, Sendable {
        public var role: String
        public var path: String
        public var sha256: String
        public var sizeBytes: UInt64
        /// The tested disk's digest after the test boots; equal to `sha256` because tests boot an overlay.
        public var sha256AfterTest: String?
        /// `booted`: the test booted it (the disk, its kernel and initrd); `derived`: written from the
        /// same tree as the booted disk (rootfs.tar, the OCI image's manifest) and not booted itself.
        /// nil in reports written before Hallmark told them apart.
        public var evidence: OutputEvidence?

        public init(
            role: String, path: String, sha256: String, sizeBytes: UInt64, sha256AfterTest: String? = nil, evidence: OutputEvidence? = nil
        ) {
            (self.role, self.path, self.sha256, self.sizeBytes, self.sha256AfterTest) = (role, path, sha256, sizeBytes, sha256AfterTest)
            self.evidence = evidence
        }
    }

    public struct Host: Codable, Sendable {
        public var hostname: String
        public var qemuVersion: String?
        public var accelerator: String?
        /// The exact QEMU command line of the test boot, so it can be reproduced by hand.
        public var qemuCommandLine: String?
        /// How commands reached the guest: "agent" or "console", and why when not the agent.
        public var guestChannel: String?
        public var guestChannelNote: String?
        /// Where the static facts (files, packages, accounts…) were read: "image" (the disk
        /// artifact, on the host, while the guest booted) or "guest", and why when not the image.
        /// nil when no control needed one.
        public var staticFacts: String?
        public var staticFactsNote: String?

        public init(
            hostname: String, qemuVersion: String?, accelerator: String?, qemuCommandLine: String? = nil,
            guestChannel: String? = nil, guestChannelNote: String? = nil, staticFacts: String? = nil, staticFactsNote: String? = nil
        ) {
            (self.hostname, self.qemuVersion, self.accelerator, self.qemuCommandLine) = (
                hostname, qemuVersion, accelerator, qemuCommandLine
            )
            (self.guestChannel, self.guestChannelNote) = (guestChannel, guestChannelNote)
            (self.staticFacts, self.staticFactsNote) = (staticFacts, staticFactsNote)
        }
    }

    public struct InputFile: Codable, Sendable {
        public var kind: String
        public var path: String
        public var sha256: String

        public init(kind: String, path: String, sha256: String) {
            (self.kind, self.path, self.sha256) = (kind, path, sha256)
        }
    }

    public struct Gate: Codable, Sendable {
        public var threshold: Severity
        public var verdict: Verdict
        /// Why the verdict is what it is, in one line.
        public var summary: String
    }

    public struct ControlEntry: Codable, Sendable {
        public var id: String
        public var title: String
        public var policy: String
        public var policyFile: String
        public var line: Int?
        public var severity: Severity
        public var result: ResultStatus
        public var message: String
        public var evidence: String
        public var rationale: String?
        public var remediation: String?
        public var references: [String: [String]]
        public var tags: [String]?
        /// The waiver that applied or expired: mode, expiry, justification.
        public var waiver: String?
        /// For a control waived in run mode: the result before the waiver.
        public var originalResult: ResultStatus?
        /// Where its facts were observed: `guest` (the booted VM), `image` (the disk artifact, read
        /// on the host), `rootfs`. nil when nothing was observed (a skipped control).
        public var observedIn: [String]?
    }

    public init(
        tool: Tool, image: Image, host: Host, inputs: [InputFile], timings: StageTimings,
        results: [ControlResult], threshold: Severity, verdictSummary: String? = nil,
        startedAt: Date, finishedAt: Date, factsSHA256: String?, forcedVerdict: Verdict? = nil
    ) {
        self.tool = tool
        self.image = image
        self.host = host
        self.inputs = inputs
        self.timings = timings
        let verdict = forcedVerdict ?? Compliance.Gate.verdict(results, threshold: threshold)
        var counts: [String: Int] = [:]
        for status in ResultStatus.allCases { counts[status.rawValue] = results.filter { $0.status == status }.count }
        self.counts = counts
        self.controls = results.map { result in
            ControlEntry(
                id: result.control.id, title: result.control.title, policy: result.policyID,
                policyFile: result.control.location.file, line: result.control.location.line,
                severity: result.control.severity, result: result.status, message: result.message, evidence: result.evidence,
                rationale: result.control.rationale, remediation: result.control.remediation, references: result.control.references,
                tags: result.control.tags.isEmpty ? nil : result.control.tags, waiver: result.waiver, originalResult: result.originalStatus,
                observedIn: result.observedIn.isEmpty ? nil : result.observedIn.map(\.rawValue))
        }
        let failing = results.filter { $0.status == .fail && $0.control.severity >= threshold }.map(\.control.id)
        let summary =
            verdictSummary
            ?? {
                switch verdict {
                case .pass: return "gate open: \(results.count) control(s) evaluated, none at or above \(threshold.rawValue) failed"
                case .fail: return "gate closed: \(failing.count) control(s) failed: \(failing.joined(separator: ", "))"
                case .incomplete: return "gate closed: some controls could not be evaluated"
                }
            }()
        self.gate = Gate(threshold: threshold, verdict: verdict, summary: summary)
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.factsSHA256 = factsSHA256
    }

    public func write(to path: String) throws {
        try JSONEncoder.hallmark.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
