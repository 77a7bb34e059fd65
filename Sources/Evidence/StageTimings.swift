import Foundation

/// Seconds each stage of a run took: report.json's `timings`. A stage that did not run (no
/// build in `hallmark test`, no reboot) has no entry, so the object holds what was measured.
public struct StageTimings: Codable, Sendable, Equatable {
    // Building the image (`hallmark run`).
    public var bootstrap: Double?
    public var components: Double?
    public var disk: Double?
    // Testing it.
    /// QEMU's launch to the guest channel's first answer.
    public var boot: Double?
    /// Until systemd finished booting.
    public var settle: Double?
    public var componentTests: Double?
    public var reboot: Double?
    public var settleAfterReboot: Double?
    /// The guest round trip that collects every fact.
    public var checks: Double?
    /// Reading static facts from the disk artifact on the host, beside the boot.
    public var imageFacts: Double?

    public init() {}

    /// Every stage with its name in report.json; the one place the names are spelt.
    static let stages: [(name: String, keyPath: WritableKeyPath<StageTimings, Double?> & Sendable)] = [
        ("bootstrap", \.bootstrap), ("components", \.components), ("disk", \.disk),
        ("boot", \.boot), ("settle", \.settle), ("componentTests", \.componentTests), ("reboot", \.reboot),
        ("settleAfterReboot", \.settleAfterReboot), ("checks", \.checks), ("imageFacts", \.imageFacts),
    ]

    /// The measured stages by name, sorted by name as report.json lists them.
    public var measured: [(stage: String, seconds: Double)] {
        Self.stages.compactMap { stage in self[keyPath: stage.keyPath].map { (stage.name, $0) } }.sorted { $0.stage < $1.stage }
    }

    /// Takes every stage `other` measured.
    public mutating func merge(_ other: StageTimings) {
        for stage in Self.stages { if let seconds = other[keyPath: stage.keyPath] { self[keyPath: stage.keyPath] = seconds } }
    }

    struct StageKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: StageKey.self)
        for stage in Self.stages {
            self[keyPath: stage.keyPath] = try container.decodeIfPresent(Double.self, forKey: StageKey(stringValue: stage.name))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: StageKey.self)
        for stage in Self.stages {
            try container.encodeIfPresent(self[keyPath: stage.keyPath], forKey: StageKey(stringValue: stage.name))
        }
    }
}
