import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes JUnit XML with libxml2's xmlTextWriter.
///
/// Shape of the `.standard` flavour, valid against both the strict Ant (windyroad) schema
/// and the Jenkins schema:
///
/// ```xml
/// <testsuites>                                   <!-- no attributes: windyroad allows none -->
///   <testsuite name hostname timestamp tests failures errors skipped time package id>
///     <properties><property name value/>…</properties>   <!-- always present -->
///     <testcase name classname time>
///       <failure message type>details</failure> | <error …>… | <skipped message/>
///     </testcase>…
///     <system-out>…</system-out>                 <!-- always present -->
///     <system-err>…</system-err>                 <!-- always present -->
///   </testsuite>…
/// </testsuites>
/// ```
public enum JUnitWriter {
    /// Returns the report as a UTF-8 XML document.
    public static func xml(for report: JUnitReport, flavour: Flavour = .standard) throws -> String {
        let writer = try XMLTextWriter()
        try writer.startDocument()
        try writer.startElement("testsuites")
        if flavour == .rich {
            let cases = report.suites.flatMap(\.cases)
            let summary = JUnitSuite(name: report.name, timestamp: Date(timeIntervalSince1970: 0), cases: cases)
            try writer.attribute("name", report.name)
            try writer.attribute("tests", String(summary.tests))
            try writer.attribute("failures", String(summary.failures))
            try writer.attribute("errors", String(summary.errors))
            try writer.attribute("time", XMLText.seconds(report.suites.reduce(0) { $0 + max(0, $1.time.isFinite ? $1.time : 0) }))
        }
        for (id, suite) in report.suites.enumerated() {
            try write(suite, id: id, flavour: flavour, to: writer)
        }
        try writer.endElement()
        return try writer.finish()
    }

    /// Writes the report to `path` atomically: a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`.
    public static func write(_ report: JUnitReport, to path: String, flavour: Flavour = .standard) throws {
        let document = try xml(for: report, flavour: flavour)
        try AtomicFile.store(Array(document.utf8), at: path)
    }

    private static func write(_ suite: JUnitSuite, id: Int, flavour: Flavour, to writer: XMLTextWriter) throws {
        let name = XMLText.token(suite.name, fallback: "unnamed")
        try writer.startElement("testsuite")
        try writer.attribute("name", name)
        try writer.attribute("hostname", XMLText.token(suite.hostname, fallback: "localhost"))
        try writer.attribute("timestamp", XMLText.timestamp(suite.timestamp))
        try writer.attribute("tests", String(suite.tests))
        try writer.attribute("failures", String(suite.failures))
        try writer.attribute("errors", String(suite.errors))
        try writer.attribute("skipped", String(suite.skipped))
        try writer.attribute("time", XMLText.seconds(suite.time))
        try writer.attribute("package", suite.package ?? name)
        try writer.attribute("id", String(id))

        try writeProperties(suite.properties, to: writer)
        for testCase in suite.cases {
            try write(testCase, flavour: flavour, to: writer)
        }

        try writer.startElement("system-out")
        try writer.text(standardOutput(of: suite, flavour: flavour))
        try writer.fullEndElement()
        try writer.startElement("system-err")
        try writer.text(suite.systemErr ?? "")
        try writer.fullEndElement()

        try writer.endElement()
    }

    private static func write(_ testCase: JUnitCase, flavour: Flavour, to writer: XMLTextWriter) throws {
        try writer.startElement("testcase")
        try writer.attribute("name", testCase.name)
        try writer.attribute("classname", testCase.classname)
        try writer.attribute("time", XMLText.seconds(testCase.time))
        if flavour == .rich {
            if let file = testCase.file { try writer.attribute("file", file) }
            if let line = testCase.line { try writer.attribute("line", String(line)) }
            if !testCase.properties.isEmpty { try writeProperties(testCase.properties, to: writer) }
        }

        switch testCase.outcome {
        case .passed:
            break
        case .failure(let message, let type, let details), .error(let message, let type, let details):
            let isFailure = if case .failure = testCase.outcome { true } else { false }
            try writer.startElement(isFailure ? "failure" : "error")
            try writer.attribute("message", message)
            try writer.attribute("type", type)
            try writer.text(details)
            try writer.fullEndElement()
        case .skipped(let message):
            try writer.startElement("skipped")
            try writer.attribute("message", message)
            try writer.endElement()
        }

        if flavour == .rich, let output = testCase.systemOut {
            try writer.startElement("system-out")
            try writer.text(output)
            try writer.fullEndElement()
        }
        try writer.endElement()
    }

    private static func writeProperties(_ properties: [JUnitProperty], to writer: XMLTextWriter) throws {
        try writer.startElement("properties")
        for property in properties {
            try writer.startElement("property")
            try writer.attribute("name", XMLText.token(property.name, fallback: "unnamed"))
            try writer.attribute("value", property.value)
            try writer.endElement()
        }
        try writer.endElement()
    }

    /// The suite's output; in the standard flavour followed by each case's output, since
    /// the Ant schema has no `<system-out>` inside `<testcase>`.
    private static func standardOutput(of suite: JUnitSuite, flavour: Flavour) -> String {
        var output = suite.systemOut ?? ""
        guard flavour == .standard else { return output }
        for testCase in suite.cases {
            guard let caseOutput = testCase.systemOut, !caseOutput.isEmpty else { continue }
            if !output.isEmpty, !output.hasSuffix("\n") { output += "\n" }
            output += "----- \(testCase.classname).\(testCase.name) -----\n" + caseOutput
        }
        return output
    }
}

/// Temporary file + fsync + rename(2).
enum AtomicFile {
    static func store(_ bytes: [UInt8], at path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temporary =
            (directory.isEmpty ? "" : directory + "/")
            + ".\(base).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw posixError("cannot create \(temporary)") }
        var committed = false
        defer { if !committed { unlink(temporary) } }

        do {
            try bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw posixError("cannot write \(temporary)")
                    }
                    offset += written
                }
            }
            guard fsync(fd) == 0 else { throw posixError("cannot flush \(temporary)") }
        } catch {
            close(fd)
            throw error
        }
        guard close(fd) == 0 else { throw posixError("cannot close \(temporary)") }
        guard rename(temporary, path) == 0 else { throw posixError("cannot rename \(temporary) to \(path)") }
        committed = true
    }

    private static func posixError(_ what: String) -> JUnitXMLError {
        JUnitXMLError(kind: .io, summary: "\(what): \(String(cString: strerror(errno)))")
    }
}
