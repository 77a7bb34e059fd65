import Foundation
import HallmarkSupport
import JUnitXML

/// Validation of the evidence files against their published schemas.
public enum Schemas {
    /// The public JUnit schemas, when `.ci/run` hands their directory in (HALLMARK_JUNIT_SCHEMAS);
    /// without it junit.xml is still read back by junitparser, not validated against them.
    public static let junit =
        ProcessInfo.processInfo.environment["HALLMARK_JUNIT_SCHEMAS"].flatMap { $0.isEmpty ? nil : $0 }
        .map { ["\($0)/windyroad-JUnit.xsd", "\($0)/jenkins-junit-10.xsd"] } ?? []

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
