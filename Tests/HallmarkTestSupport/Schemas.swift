import Foundation
import HallmarkSupport
import JUnitXML

/// Validation of the evidence files against their published schemas.
public enum Schemas {
    /// The schema of Hallmark's own JUnit output, in the repository: every junit.xml is checked
    /// against it, so a fresh clone validates JUnit with nothing from outside.
    public static let ownJUnit = Repository.root + "/schemas/junit.xsd"

    /// The public Ant (Windy Road) and Jenkins JUnit schemas, when `.ci/run` hands their directory
    /// in as HALLMARK_JUNIT_SCHEMAS; empty otherwise.
    public static let publicJUnit =
        ProcessInfo.processInfo.environment["HALLMARK_JUNIT_SCHEMAS"].flatMap { $0.isEmpty ? nil : $0 }
        .map { ["\($0)/windyroad-JUnit.xsd", "\($0)/jenkins-junit-10.xsd"] } ?? []

    /// Every JUnit schema a junit.xml is validated against: the project's own, and the public ones when given.
    public static let junit = [ownJUnit] + publicJUnit

    /// Why a check against the public schemas was skipped, for test traits.
    public static let publicJUnitSkipReason =
        "HALLMARK_JUNIT_SCHEMAS is not set: validated against the project's own schemas/junit.xsd only"

    /// The documented JSON Schema of report.json, checked with Python's jsonschema.
    public static func validateReport(_ path: String) async throws {
        let script =
            "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])), format_checker=jsonschema.FormatChecker())"
        _ = try await HostCommand("python3", ["-c", script, Repository.reportSchema, path]).output()
    }

    public static func validateJUnit(_ path: String) throws {
        for schema in junit { try XMLSchemaValidator.validate(xmlFile: path, schemaFile: schema) }
    }
}
