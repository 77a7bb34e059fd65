import Foundation
import HallmarkTestSupport
import Testing

@testable import JUnitXML

/// Every document is validated against the project's own schema of its JUnit output
/// (schemas/junit.xsd), and also against the two public ones (Ant/Windy Road and Jenkins) when
/// `.ci/run` hands their directory in as HALLMARK_JUNIT_SCHEMAS; the tests that need the public
/// ones are skipped without it, and say that the project's schema was used instead.
private let schemas = Schemas.junit
private let publicSchemasGiven = Testing.ConditionTrait.enabled(
    if: !Schemas.publicJUnit.isEmpty, Comment(rawValue: Schemas.publicJUnitSkipReason))

/// 2024-05-06T07:08:09Z plus a fraction that must be dropped.
private let fixedDate = Date(timeIntervalSince1970: 1_714_979_289.75)

private let hostileOutput =
    "boot ok\u{0}\u{1}\u{7}\u{1B}[31mred\u{1B}[0m\u{B}\u{C}\u{7F}\u{FFFE}\u{FFFF} ]]> <& \"quotes\" 'apos'\ttab\r\nline2 ✓ 𝄞\n"

private func sampleReport() -> JUnitReport {
    let suite = JUnitSuite(
        name: "hallmark.compliance",
        timestamp: fixedDate,
        hostname: "builder-1",
        time: 12.3456,
        properties: [
            JUnitProperty(name: "recipe", value: "debian-12 <base> & \"more\""),
            JUnitProperty(name: "policy", value: "cis\u{1}-level-1"),
        ],
        cases: [
            JUnitCase(name: "ssh.root-login-disabled", classname: "hallmark.ssh", time: 0.0004),
            JUnitCase(
                name: "fs.tmp-noexec", classname: "hallmark.fs", time: 1.5,
                outcome: .failure(
                    message: "mount option noexec missing ]]> <&", type: "PolicyViolation",
                    details: "expected noexec\u{0} on /tmp\n]]>\n<&"),
                systemOut: "mount output\u{1B}: /tmp rw,relatime"),
            JUnitCase(
                name: "kernel.facts", classname: "hallmark.kernel", time: -3,
                outcome: .error(message: "collector crashed", type: "CollectorError", details: hostileOutput)),
            JUnitCase(
                name: "selinux.enforcing", classname: "hallmark.selinux", time: .nan,
                outcome: .skipped(message: "waived until 2025-01-01 \u{2}"),
                properties: [JUnitProperty(name: "waiver", value: "W-17")],
                file: "policies/selinux.yaml", line: 42),
        ],
        systemOut: hostileOutput,
        systemErr: "warning: \u{1F}odd ]]> <&"
    )
    let second = JUnitSuite(name: "   ", timestamp: fixedDate, hostname: "", package: "hallmark.second")
    return JUnitReport(name: "hallmark", suites: [suite, second])
}

private func attribute(_ name: String, in element: Substring) -> String? {
    guard let range = element.range(of: " \(name)=\"") else { return nil }
    let rest = element[range.upperBound...]
    return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
}

/// The start tags `<name …>` in `xml`, in order.
private func startTags(_ name: String, in xml: String) -> [Substring] {
    var tags: [Substring] = []
    var search = xml[...]
    while let start = search.range(of: "<\(name) ") ?? search.range(of: "<\(name)>") {
        let end = search[start.lowerBound...].firstIndex(of: ">")!
        tags.append(search[start.lowerBound...end])
        search = search[search.index(after: end)...]
    }
    return tags
}

@Suite struct JUnitXMLTests {
    @Test("the JUnit schemas are found: schemas/junit.xsd, and the public ones with HALLMARK_JUNIT_SCHEMAS")
    func schemasAreFound() {
        for schema in schemas {
            #expect(FileManager.default.fileExists(atPath: schema), "missing \(schema)")
        }
    }

    @Test("both flavours validate against the project's own schemas/junit.xsd")
    func bothFlavoursValidateAgainstTheProjectSchema() throws {
        for flavour in [JUnitWriter.Flavour.standard, .rich] {
            let xml = try JUnitWriter.xml(for: sampleReport(), flavour: flavour)
            #expect(throws: Never.self, "\(flavour)") { try XMLSchemaValidator.validate(xml: xml, schemaFile: Schemas.ownJUnit) }
        }
    }

    @Test("the standard flavour validates against the public Ant and Jenkins schemas", publicSchemasGiven)
    func standardFlavourValidatesAgainstThePublicSchemas() throws {
        let xml = try JUnitWriter.xml(for: sampleReport())
        for schema in Schemas.publicJUnit {
            #expect(throws: Never.self, "\(schema)") { try XMLSchemaValidator.validate(xml: xml, schemaFile: schema) }
        }
    }

    @Test func writtenFileValidatesAndLeavesNoTemporaryFiles() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("junitxml-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("junit.xml").path

        try "stale".write(toFile: path, atomically: false, encoding: .utf8)
        try JUnitWriter.write(sampleReport(), to: path)
        for schema in schemas {
            try XMLSchemaValidator.validate(xmlFile: path, schemaFile: schema)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["junit.xml"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == JUnitWriter.xml(for: sampleReport()))
    }

    /// junitparser (PyPI), as CI tools read JUnit, sees the same counts as the suites report.
    @Test func junitparserReadsTheSameCounts() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("junit-\(UUID().uuidString).xml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let report = sampleReport()
        try JUnitWriter.write(report, to: path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import sys, junitparser
            xml = junitparser.JUnitXml.fromfile(sys.argv[1])
            print(sum(s.tests for s in xml), sum(s.failures for s in xml), sum(s.errors for s in xml), sum(s.skipped for s in xml))
            """, path,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let expected = [
            report.suites.map(\.tests), report.suites.map(\.failures), report.suites.map(\.errors), report.suites.map(\.skipped),
        ]
        .map { String($0.reduce(0, +)) }.joined(separator: " ")
        #expect(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == expected)
        #expect(expected == "4 1 1 1")
    }

    @Test func countsAreRecomputedFromCases() throws {
        let xml = try JUnitWriter.xml(for: sampleReport())
        let suites = startTags("testsuite", in: xml)
        try #require(suites.count == 2)
        #expect(attribute("tests", in: suites[0]) == "4")
        #expect(attribute("failures", in: suites[0]) == "1")
        #expect(attribute("errors", in: suites[0]) == "1")
        #expect(attribute("skipped", in: suites[0]) == "1")
        #expect(attribute("time", in: suites[0]) == "12.346")
        #expect(attribute("id", in: suites[0]) == "0")
        #expect(attribute("package", in: suites[0]) == "hallmark.compliance")
        #expect(attribute("tests", in: suites[1]) == "0")
        #expect(attribute("failures", in: suites[1]) == "0")
        #expect(attribute("id", in: suites[1]) == "1")
        // Empty tokens fall back to values the Ant schema accepts.
        #expect(attribute("name", in: suites[1]) == "unnamed")
        #expect(attribute("hostname", in: suites[1]) == "localhost")
        // Negative and NaN durations are written as zero.
        let times = startTags("testcase", in: xml).map { attribute("time", in: $0) }
        #expect(times == ["0.000", "1.500", "0.000", "0.000"])
    }

    @Test func timestampIsUTCWithoutOffset() throws {
        let xml = try JUnitWriter.xml(for: sampleReport())
        for suite in startTags("testsuite", in: xml) {
            #expect(attribute("timestamp", in: suite) == "2024-05-06T07:08:09")
        }
        #expect(XMLText.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00")
        #expect(XMLText.timestamp(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59")
        #expect(XMLText.timestamp(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00")
        #expect(XMLText.timestamp(.distantFuture) == "4001-01-01T00:00:00")
        #expect(XMLText.timestamp(Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59")
        #expect(XMLText.timestamp(Date(timeIntervalSince1970: -1e15)) == "0001-01-01T00:00:00")
    }

    @Test func forbiddenCharactersAreStrippedAndMarkupEscaped() throws {
        let xml = try JUnitWriter.xml(for: sampleReport())
        let forbidden = xml.unicodeScalars.filter { !XMLText.isAllowed($0) }
        #expect(forbidden.isEmpty, "forbidden scalars: \(forbidden.map { String($0.value, radix: 16) })")
        #expect(!xml.contains("]]>"))
        #expect(xml.contains("]]&gt; &lt;&amp;"))
        // Allowed text survives: escape sequences lose only the ESC, non-ASCII is kept.
        #expect(xml.contains("[31mred[0m"))
        #expect(xml.contains("line2 ✓ 𝄞"))
        #expect(xml.contains("mount output: /tmp rw,relatime"))
        #expect(xml.contains("cis-level-1"))
        #expect(xml.contains("expected noexec on /tmp"))
        // The standard flavour moves per-case output into the suite's <system-out>.
        #expect(xml.contains("----- hallmark.fs.fs.tmp-noexec -----\nmount output"))
    }

    @Test func sanitizerKeepsExactlyTheXMLCharacters() {
        #expect(
            XMLText.sanitized("a\u{0}b\u{8}c\td\ne\rf\u{1F}g\u{D7FF}\u{E000}\u{FFFD}\u{FFFE}\u{FFFF}\u{10000}\u{10FFFF}")
                == "abc\td\ne\rfg\u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}")
        // Invalid UTF-8 (e.g. an encoded lone surrogate) is repaired to U+FFFD on decoding.
        let loneSurrogate = String(decoding: [0x61, 0xED, 0xA0, 0x80, 0x62] as [UInt8], as: UTF8.self)
        #expect(!XMLText.sanitized(loneSurrogate).unicodeScalars.contains { (0xD800...0xDFFF).contains($0.value) })
    }

    @Test func invalidDocumentIsRejectedWithLineNumbers() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites>
              <testsuite name="x" tests="one" failures="0" errors="0" time="1,5">
                <testcase name="t"/>
              </testsuite>
            </testsuites>
            """
        for schema in schemas {
            let error = try #require(throws: JUnitXMLError.self) {
                try XMLSchemaValidator.validate(xml: xml, schemaFile: schema)
            }
            #expect(error.kind == .invalidDocument)
            #expect(!error.messages.isEmpty)
            #expect(error.messages.allSatisfy { $0.line >= 3 && $0.line <= 4 }, "\(error)")
            #expect(error.description.contains(":3"), "\(error)")
        }
        // Missing timestamp, hostname, etc.: every message is collected (windyroad says the same).
        for schema in [Schemas.ownJUnit] + Schemas.publicJUnit.prefix(1) {
            let error = try #require(throws: JUnitXMLError.self) {
                try XMLSchemaValidator.validate(xml: xml, schemaFile: schema)
            }
            #expect(error.messages.count >= 2, "\(error)")
            #expect(error.description.contains("timestamp"), "\(error)")
        }
    }

    @Test func malformedDocumentAndMissingFilesAreReported() throws {
        let malformed = try #require(throws: JUnitXMLError.self) {
            try XMLSchemaValidator.validate(xml: "<testsuites>\n<testsuite>\n</testsuites>", schemaFile: Schemas.ownJUnit)
        }
        #expect(malformed.kind == .malformedDocument)
        #expect(malformed.messages.contains { $0.line == 3 }, "\(malformed)")

        let missingSchema = try #require(throws: JUnitXMLError.self) {
            try XMLSchemaValidator.validate(xml: "<testsuites/>", schemaFile: "/nonexistent/schema.xsd")
        }
        #expect(missingSchema.kind == .schema)
        #expect(!missingSchema.messages.isEmpty, "\(missingSchema)")

        let missingFile = try #require(throws: JUnitXMLError.self) {
            try XMLSchemaValidator.validate(xmlFile: "/nonexistent/junit.xml", schemaFile: Schemas.ownJUnit)
        }
        #expect(missingFile.kind == .malformedDocument)

        #expect(throws: JUnitXMLError.self) {
            try JUnitWriter.write(sampleReport(), to: "/nonexistent/dir/junit.xml")
        }
    }

    @Test func richFlavourAddsCasePropertiesAndLocation() throws {
        let xml = try JUnitWriter.xml(for: sampleReport(), flavour: .rich)
        let cases = startTags("testcase", in: xml)
        try #require(cases.count == 4)
        #expect(attribute("file", in: cases[3]) == "policies/selinux.yaml")
        #expect(attribute("line", in: cases[3]) == "42")
        #expect(attribute("file", in: cases[0]) == nil)
        #expect(xml.contains("<property name=\"waiver\" value=\"W-17\"/>"))
        #expect(xml.contains("<system-out>mount output: /tmp rw,relatime</system-out>"))
        let root = try #require(startTags("testsuites", in: xml).first)
        #expect(attribute("name", in: root) == "hallmark")
        #expect(attribute("tests", in: root) == "4")

        let standard = try JUnitWriter.xml(for: sampleReport())
        #expect(!standard.contains("waiver"))
        #expect(!standard.contains("file=\""))
        #expect(!standard.contains("line=\""))
        #expect(standard.contains("<testsuites>"))
    }

    @Test func concurrentValidationIsSafe() async throws {
        let xml = try JUnitWriter.xml(for: sampleReport())
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<8 {
                group.addTask {
                    try XMLSchemaValidator.validate(xml: xml, schemaFile: schemas[index % schemas.count])
                    #expect(throws: JUnitXMLError.self) {
                        try XMLSchemaValidator.validate(
                            xml: "<testsuites><bogus/></testsuites>", schemaFile: schemas[index % schemas.count])
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
