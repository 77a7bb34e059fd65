// The whole C surface of the module: libxml2 initialisation, a checked wrapper around
// xmlTextWriter, and structured-error capture. Nothing here is public.
import CLibXML2

/// `xmlInitParser` is not safe to race on first use; a lazily initialised global is
/// (Swift runs its initialiser exactly once).
private let libxmlInitialized: Void = xmlInitParser()

enum LibXML {
    static func initialize() { libxmlInitialized }
}

// MARK: - Writer

/// An `xmlTextWriter` writing into an `xmlBuffer`. Every call's return code is checked;
/// all text and attribute values are sanitised to XML 1.0 characters before reaching C.
final class XMLTextWriter {
    private let buffer: xmlBufferPtr
    private let writer: xmlTextWriterPtr

    init() throws {
        LibXML.initialize()
        guard let buffer = xmlBufferCreate() else {
            throw JUnitXMLError(kind: .writer, summary: "xmlBufferCreate failed")
        }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else {
            xmlBufferFree(buffer)
            throw JUnitXMLError(kind: .writer, summary: "xmlNewTextWriterMemory failed")
        }
        self.buffer = buffer
        self.writer = writer
    }

    deinit {
        // The writer flushes into the buffer when freed, so it goes first.
        xmlFreeTextWriter(writer)
        xmlBufferFree(buffer)
    }

    func startDocument() throws {
        try check(xmlTextWriterSetIndent(writer, 1), "xmlTextWriterSetIndent")
        try check(xmlTextWriterSetIndentString(writer, "  "), "xmlTextWriterSetIndentString")
        try check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil), "xmlTextWriterStartDocument")
    }

    func startElement(_ name: String) throws {
        try check(xmlTextWriterStartElement(writer, name), "xmlTextWriterStartElement(\(name))")
    }

    func attribute(_ name: String, _ value: String) throws {
        let clean = XMLText.sanitized(value)
        try check(xmlTextWriterWriteAttribute(writer, name, clean), "xmlTextWriterWriteAttribute(\(name))")
    }

    /// Character data, escaped by libxml2 (`<`, `>`, `&`, CR), so `]]>` cannot end anything.
    func text(_ value: String) throws {
        let clean = XMLText.sanitized(value)
        guard !clean.isEmpty else { return }
        try check(xmlTextWriterWriteString(writer, clean), "xmlTextWriterWriteString")
    }

    func endElement() throws {
        try check(xmlTextWriterEndElement(writer), "xmlTextWriterEndElement")
    }

    /// Closes the element even when empty as `<name></name>`.
    func fullEndElement() throws {
        try check(xmlTextWriterFullEndElement(writer), "xmlTextWriterFullEndElement")
    }

    /// Ends the document, flushes and returns everything written.
    func finish() throws -> String {
        try check(xmlTextWriterEndDocument(writer), "xmlTextWriterEndDocument")
        try check(xmlTextWriterFlush(writer), "xmlTextWriterFlush")
        let length = Int(xmlBufferLength(buffer))
        guard length > 0, let content = xmlBufferContent(buffer) else {
            throw JUnitXMLError(kind: .writer, summary: "libxml2 produced no output")
        }
        return String(decoding: UnsafeBufferPointer(start: content, count: length), as: UTF8.self)
    }

    private func check(_ rc: Int32, _ call: String) throws {
        if rc < 0 {
            throw JUnitXMLError(kind: .writer, summary: "\(call) failed (\(rc))")
        }
    }
}

// MARK: - Errors

/// Collects libxml2 structured errors. Handed to C as an unretained context pointer; it must
/// outlive every libxml2 object it is registered with.
final class XMLErrorCollector {
    private(set) var messages: [JUnitXMLError.Message] = []

    var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    /// The C callback; recovers the collector from the context pointer.
    static let handler: xmlStructuredErrorFunc = { context, error in
        guard let context, let error else { return }
        Unmanaged<XMLErrorCollector>.fromOpaque(context).takeUnretainedValue().record(error.pointee)
    }

    private func record(_ error: xmlError) {
        let level: JUnitXMLError.Message.Level
        switch error.level {
        case XML_ERR_NONE: return
        case XML_ERR_WARNING: level = .warning
        case XML_ERR_ERROR: level = .error
        default: level = .fatal
        }
        let text = error.message.map { String(cString: $0) } ?? "libxml2 error \(error.code)"
        messages.append(
            JUnitXMLError.Message(
                level: level,
                file: error.file.map { String(cString: $0) },
                line: Int(error.line),
                column: Int(error.int2),
                text: text.trimmingTrailingNewlines()
            ))
    }

    /// Routes libxml2's thread-local structured error handler (used by the XML parser) to
    /// this collector for the duration of `body`. libxml2 keeps that handler per thread and
    /// `body` is synchronous, so no other work can observe it.
    func capturingParserErrors<T>(_ body: () throws -> T) rethrows -> T {
        xmlSetStructuredErrorFunc(context, Self.handler)
        defer { xmlSetStructuredErrorFunc(nil, nil) }
        return try withExtendedLifetime(self) { try body() }
    }
}

private extension String {
    func trimmingTrailingNewlines() -> String {
        var result = Substring(self)
        while let last = result.last, last.isNewline || last == " " { result = result.dropLast() }
        return String(result)
    }
}

// MARK: - Schema validation

enum SchemaValidation {
    enum Source {
        case file(String)
        case memory(String)
    }

    /// Loads `schemaFile`, parses `source` and validates it, throwing with every message.
    static func validate(_ source: Source, schemaFile: String) throws {
        LibXML.initialize()
        let collector = XMLErrorCollector()
        try collector.capturingParserErrors {
            let schema = try loadSchema(schemaFile, collector: collector)
            defer { xmlSchemaFree(schema) }

            let document = try parse(source, collector: collector)
            defer { xmlFreeDoc(document) }

            guard let validation = xmlSchemaNewValidCtxt(schema) else {
                throw JUnitXMLError(kind: .schema, summary: "xmlSchemaNewValidCtxt failed", messages: collector.messages)
            }
            defer { xmlSchemaFreeValidCtxt(validation) }
            xmlSchemaSetValidStructuredErrors(validation, XMLErrorCollector.handler, collector.context)

            let rc = xmlSchemaValidateDoc(validation, document)
            if rc != 0 {
                let summary =
                    rc < 0
                    ? "libxml2 could not validate \(source.name) against \(schemaFile) (internal error \(rc))"
                    : "\(source.name) does not conform to \(schemaFile)"
                throw JUnitXMLError(kind: .invalidDocument, summary: summary, messages: collector.messages)
            }
        }
    }

    private static func loadSchema(_ path: String, collector: XMLErrorCollector) throws -> xmlSchemaPtr {
        guard let parser = xmlSchemaNewParserCtxt(path) else {
            throw JUnitXMLError(kind: .schema, summary: "xmlSchemaNewParserCtxt failed for \(path)", messages: collector.messages)
        }
        defer { xmlSchemaFreeParserCtxt(parser) }
        xmlSchemaSetParserStructuredErrors(parser, XMLErrorCollector.handler, collector.context)
        guard let schema = xmlSchemaParse(parser) else {
            throw JUnitXMLError(kind: .schema, summary: "cannot load XML schema \(path)", messages: collector.messages)
        }
        return schema
    }

    /// No network access, no entity substitution; line numbers above 65535 kept.
    private static let parseOptions = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue)

    private static func parse(_ source: Source, collector: XMLErrorCollector) throws -> xmlDocPtr {
        let document: xmlDocPtr?
        switch source {
        case .file(let path):
            document = xmlReadFile(path, nil, parseOptions)
        case .memory(let xml):
            let bytes = Array(xml.utf8)
            guard bytes.count <= Int(Int32.max) else {
                throw JUnitXMLError(kind: .malformedDocument, summary: "document too large for libxml2")
            }
            let count = Int32(bytes.count)
            document = bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { chars in
                    xmlReadMemory(chars.baseAddress, count, nil, nil, parseOptions)
                }
            }
        }
        guard let document else {
            throw JUnitXMLError(kind: .malformedDocument, summary: "cannot parse \(source.name)", messages: collector.messages)
        }
        return document
    }
}

private extension SchemaValidation.Source {
    var name: String {
        switch self {
        case .file(let path): path
        case .memory: "XML document"
        }
    }
}
