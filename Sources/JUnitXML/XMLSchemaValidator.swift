/// XML Schema (XSD 1.0) validation with libxml2.
public enum XMLSchemaValidator {
    /// Validates the XML file at `xmlFile` against the schema at `schemaFile`.
    /// Throws a `JUnitXMLError` listing every message libxml2 reported, with line numbers.
    public static func validate(xmlFile: String, schemaFile: String) throws {
        try SchemaValidation.validate(.file(xmlFile), schemaFile: schemaFile)
    }

    /// Validates the XML document `xml` against the schema at `schemaFile`.
    /// Throws a `JUnitXMLError` listing every message libxml2 reported, with line numbers.
    public static func validate(xml: String, schemaFile: String) throws {
        try SchemaValidation.validate(.memory(xml), schemaFile: schemaFile)
    }
}
