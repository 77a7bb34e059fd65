import Foundation

/// A complete JUnit XML report: one or more suites.
///
/// `name` is only written in the `.rich` flavour (as `testsuites/@name`): the strict Ant
/// (windyroad) schema allows no attributes on `<testsuites>`.
public struct JUnitReport: Sendable, Equatable {
    public var name: String
    public var suites: [JUnitSuite]

    public init(name: String, suites: [JUnitSuite] = []) {
        self.name = name
        self.suites = suites
    }
}

/// One `<testsuite>`. The counts (tests, failures, errors, skipped) are always recomputed
/// from `cases` when writing.
public struct JUnitSuite: Sendable, Equatable {
    public var name: String
    /// Written in UTC as `yyyy-MM-dd'T'HH:mm:ss`, without an offset (the Ant schema forbids one).
    public var timestamp: Date
    /// Written as `localhost` when empty.
    public var hostname: String
    /// Seconds; written with millisecond precision.
    public var time: Double
    public var properties: [JUnitProperty]
    public var cases: [JUnitCase]
    public var systemOut: String?
    public var systemErr: String?
    /// `testsuite/@package`; defaults to the suite name when nil.
    public var package: String?

    public init(
        name: String,
        timestamp: Date,
        hostname: String = "localhost",
        time: Double = 0,
        properties: [JUnitProperty] = [],
        cases: [JUnitCase] = [],
        systemOut: String? = nil,
        systemErr: String? = nil,
        package: String? = nil
    ) {
        self.name = name
        self.timestamp = timestamp
        self.hostname = hostname
        self.time = time
        self.properties = properties
        self.cases = cases
        self.systemOut = systemOut
        self.systemErr = systemErr
        self.package = package
    }

    /// Number of test cases.
    public var tests: Int { cases.count }
    /// Number of cases whose outcome is `.failure`.
    public var failures: Int { cases.count(where: { if case .failure = $0.outcome { true } else { false } }) }
    /// Number of cases whose outcome is `.error`.
    public var errors: Int { cases.count(where: { if case .error = $0.outcome { true } else { false } }) }
    /// Number of cases whose outcome is `.skipped`.
    public var skipped: Int { cases.count(where: { if case .skipped = $0.outcome { true } else { false } }) }
}

/// A `<property name="…" value="…"/>`.
public struct JUnitProperty: Sendable, Equatable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One `<testcase>`.
public struct JUnitCase: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case passed
        case failure(message: String, type: String, details: String)
        case error(message: String, type: String, details: String)
        case skipped(message: String)
    }

    public var name: String
    public var classname: String
    /// Seconds; written with millisecond precision.
    public var time: Double
    public var outcome: Outcome
    /// Per-testcase properties: written only in the `.rich` flavour.
    public var properties: [JUnitProperty]
    /// In the `.rich` flavour this is written inside the `<testcase>`; in the `.standard`
    /// flavour (where the Ant schema allows no `<system-out>` in a testcase) it is appended
    /// to the suite's `<system-out>` under a header naming the case.
    public var systemOut: String?
    /// `testcase/@file`: written only in the `.rich` flavour.
    public var file: String?
    /// `testcase/@line`: written only in the `.rich` flavour.
    public var line: Int?

    public init(
        name: String,
        classname: String,
        time: Double = 0,
        outcome: Outcome = .passed,
        properties: [JUnitProperty] = [],
        systemOut: String? = nil,
        file: String? = nil,
        line: Int? = nil
    ) {
        self.name = name
        self.classname = classname
        self.time = time
        self.outcome = outcome
        self.properties = properties
        self.systemOut = systemOut
        self.file = file
        self.line = line
    }
}

extension JUnitWriter {
    /// The shape of the document written.
    public enum Flavour: Sendable, Equatable {
        /// Validates against both the strict Ant (windyroad) schema and the Jenkins schema.
        case standard
        /// Adds what Jenkins and GitLab read beyond the schemas: per-testcase `<properties>`,
        /// `file`/`line` attributes and `<system-out>` on test cases, and summary attributes on
        /// `<testsuites>`. Not schema-valid.
        case rich
    }
}
