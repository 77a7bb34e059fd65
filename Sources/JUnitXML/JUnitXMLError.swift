/// An error from writing or validating JUnit XML.
public struct JUnitXMLError: Error, CustomStringConvertible, Sendable, Equatable {
    /// One diagnostic reported by libxml2.
    public struct Message: Sendable, Equatable, CustomStringConvertible {
        public enum Level: String, Sendable, Equatable {
            case warning, error, fatal
        }

        public var level: Level
        public var file: String?
        /// 1-based; 0 when libxml2 knows no line.
        public var line: Int
        /// 1-based; 0 when libxml2 knows no column.
        public var column: Int
        public var text: String

        public init(level: Level, file: String?, line: Int, column: Int = 0, text: String) {
            self.level = level
            self.file = file
            self.line = line
            self.column = column
            self.text = text
        }

        public var description: String {
            var location = file ?? (line > 0 ? "<xml>" : "")
            if line > 0 { location += ":\(line)" }
            if line > 0, column > 0 { location += ":\(column)" }
            return (location.isEmpty ? "" : location + ": ") + "\(level.rawValue): \(text)"
        }
    }

    public enum Kind: String, Sendable, Equatable {
        /// libxml2's text writer failed.
        case writer
        /// Reading or writing a file failed.
        case io
        /// The schema could not be loaded or compiled.
        case schema
        /// The document is not well-formed XML.
        case malformedDocument
        /// The document does not conform to the schema.
        case invalidDocument
    }

    public var kind: Kind
    public var summary: String
    /// Every message libxml2 reported, in order.
    public var messages: [Message]

    public init(kind: Kind, summary: String, messages: [Message] = []) {
        self.kind = kind
        self.summary = summary
        self.messages = messages
    }

    public var description: String {
        ([summary] + messages.map { "  " + $0.description }).joined(separator: "\n")
    }
}
