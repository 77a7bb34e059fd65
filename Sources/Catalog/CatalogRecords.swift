import Foundation

/// Where a build is in its life. The raw values are what the catalog stores and `--json` prints.
public enum BuildState: String, Codable, Sendable, CaseIterable {
    case building = "BUILDING"
    case testing = "TESTING"
    case distributing = "DISTRIBUTING"
    case available = "AVAILABLE"
    case failed = "FAILED"
    case deprecated = "DEPRECATED"
    case deleted = "DELETED"

    /// States in which a process is working on the build; a build left in one by a process that is
    /// gone was interrupted.
    public var isActive: Bool { [.building, .testing, .distributing].contains(self) }
}

/// One build of an image: `name version/number`, its state and where its files are.
public struct CatalogBuild: Codable, Sendable, Equatable {
    public var id: Int64
    public var image: String
    public var version: String
    public var number: Int
    public var state: BuildState
    public var buildDigest: String?
    public var directory: String
    public var parent: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64, image: String, version: String, number: Int, state: BuildState, buildDigest: String?, directory: String,
        parent: String?, createdAt: Date, updatedAt: Date
    ) {
        (self.id, self.image, self.version, self.number, self.state, self.buildDigest) = (id, image, version, number, state, buildDigest)
        (self.directory, self.parent, self.createdAt, self.updatedAt) = (directory, parent, createdAt, updatedAt)
    }

    /// `name@version/number`, the form `images show` and `distribute` accept.
    public var reference: String { "\(image)@\(version)/\(number)" }
}

/// A state a build entered, and when.
public struct StateChange: Codable, Sendable, Equatable {
    public var state: BuildState
    public var at: Date
    public var note: String?
}

/// A test of a build: its verdict and the digests of the evidence it signed.
public struct TestRun: Codable, Sendable, Equatable {
    public var verdict: String
    public var reportDigest: String?
    public var envelopeDigest: String?
    public var reportDirectory: String?
    /// sha256 over the recipe, components, policies and waivers the test used, in order.
    public var inputsDigest: String?
    public var at: Date

    public init(
        verdict: String, reportDigest: String?, envelopeDigest: String?, reportDirectory: String?, inputsDigest: String? = nil,
        at: Date = Date()
    ) {
        (self.verdict, self.reportDigest, self.envelopeDigest, self.reportDirectory, self.inputsDigest, self.at) =
            (verdict, reportDigest, envelopeDigest, reportDirectory, inputsDigest, at)
    }
}

/// A build's distribution to one target.
public struct Distribution: Codable, Sendable, Equatable {
    public var target: String
    /// `DONE`, or `FAILED` with the reason in `detail`.
    public var state: String
    public var detail: String?
    public var at: Date

    public init(target: String, state: String, detail: String? = nil, at: Date = Date()) {
        (self.target, self.state, self.detail, self.at) = (target, state, detail, at)
    }
}

/// Everything the catalog knows of one build, as `images show` prints it.
public struct BuildHistory: Codable, Sendable {
    public var build: CatalogBuild
    public var states: [StateChange]
    public var testRuns: [TestRun]
    public var distributions: [Distribution]
}
