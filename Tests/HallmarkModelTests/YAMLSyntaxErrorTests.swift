import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import HallmarkModel

/// YAML syntax errors name the offending line on one line of text, never the whole file.
@Suite struct YAMLSyntaxErrorTests {
    func syntaxError(_ text: String) throws -> HallmarkError {
        do {
            _ = try YAMLInput.parse(text, file: "f.yaml", context: "policy")
        } catch let error as HallmarkError {
            return error
        }
        Issue.record("parsed: \(text)")
        throw CancellationError()
    }

    @Test func aDuplicateKeyInTheCISPolicyIsReportedAtTheDuplicate() throws {
        let original = try String(contentsOfFile: Repository.root + "/policies/cis-debian12-level1.yaml", encoding: .utf8)
        var lines = original.components(separatedBy: "\n")
        let index = try #require(lines.firstIndex { $0.hasPrefix("    severity:") })
        lines.insert(lines[index], at: index + 1)
        let error = try syntaxError(lines.joined(separator: "\n"))
        #expect(error.location == SourceLocation(file: "f.yaml", line: index + 2, column: 5))
        #expect(error.message == "duplicate key 'severity' (first at line \(index + 1), column 5); each key may appear once in a mapping")
    }

    @Test func aThirdOccurrenceNamesTheSecond() throws {
        let error = try syntaxError("a: 1\nb: 2\na: 3\na: 4\n")
        #expect(error.location?.line == 3)
    }

    @Test func aTabIsNamedAsSuch() throws {
        let error = try syntaxError("id: x\ncontrols:\n\t- id: y\n")
        #expect(error.location?.line == 3)
        #expect(error.message.contains("tab"))
    }

    @Test func anUnclosedQuoteIsShownWhereItOpens() throws {
        let error = try syntaxError("id: x\ntitle: \"never closed\n")
        #expect(error.location == SourceLocation(file: "f.yaml", line: 2, column: 8))
    }

    @Test func noMessageCarriesTheFile() throws {
        for text in ["a: [1, 2\nb: 3\n", "a: 1\n a: 2\n", "a: b: c\n", "a: \"\\q\"\n", "a: 1\n---\nb: 2\n", "a: \u{7}\n"] {
            let error = try syntaxError(text)
            #expect(!error.description.contains("\n"), "\(error)")
            #expect(error.location?.line != nil, "\(error)")
        }
    }
}
