import Foundation

/// A reader's view of report.json (schemas/report.schema.json): what tests read, decoded from the
/// file's own spelling (strings, not Hallmark's enums), so a renamed value fails here as it would
/// for a CI consumer.
public struct ReportJSON: Decodable, Sendable {
    public var schemaVersion: String
    public var tool: Tool
    public var image: Image
    public var host: Host
    public var inputs: [Input]
    public var timings: [String: Double]
    public var gate: Gate
    public var counts: [String: Int]
    public var controls: [Control]
    public var startedAt: String
    public var finishedAt: String
    public var factsSHA256: String?

    public struct Tool: Decodable, Sendable {
        public var name: String
        public var version: String
    }

    public struct Image: Decodable, Sendable {
        public var name: String
        public var version: String
        public var build: Int
        public var artifacts: [Artifact]
        public var parent: Parent?
    }

    public struct Parent: Decodable, Sendable {
        public var kind: String
        public var reference: String
        public var sha256: String
    }

    public struct Artifact: Decodable, Sendable {
        public var role: String
        public var path: String
        public var sha256: String
        public var sizeBytes: UInt64
        public var sha256AfterTest: String?
    }

    public struct Host: Decodable, Sendable {
        public var hostname: String
        public var qemuVersion: String?
        public var accelerator: String?
        public var qemuCommandLine: String?
        public var guestChannel: String?
        public var guestChannelNote: String?
        public var staticFacts: String?
        public var staticFactsNote: String?
    }

    public struct Input: Decodable, Sendable {
        public var kind: String
        public var path: String
        public var sha256: String
    }

    public struct Gate: Decodable, Sendable {
        public var threshold: String
        public var verdict: String
        public var summary: String
    }

    public struct Control: Decodable, Sendable {
        public var id: String
        public var title: String
        public var policy: String
        public var policyFile: String
        public var line: Int?
        public var severity: String
        public var result: String
        public var message: String
        public var evidence: String
        public var rationale: String?
        public var remediation: String?
        public var references: [String: [String]]
        public var tags: [String]?
        public var waiver: String?
        public var originalResult: String?
        public var observedIn: [String]?
    }

    public static func read(_ path: String) throws -> ReportJSON {
        try decode(Data(contentsOf: URL(fileURLWithPath: path)))
    }

    public static func decode(_ data: Data) throws -> ReportJSON {
        try JSONDecoder().decode(ReportJSON.self, from: data)
    }

    /// The control with `id`, if the report has one.
    public func control(_ id: String) -> Control? { controls.first { $0.id == id } }
}
