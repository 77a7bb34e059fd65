import Foundation
import HallmarkTestSupport
import Testing

@testable import HallmarkModel
@testable import HallmarkSupport

/// The TOE document language as the loader reads it: what `awstoe validate` accepts and refuses.
@Suite struct ComponentDocumentTests {
    func lint(_ yaml: String) throws -> (Component?, [HallmarkError], String) {
        let scratch = try Scratch()
        let path = try scratch.write("c.yaml", yaml)
        let (component, problems) = try Component.lint(path: path)
        return (component, problems, path)
    }

    @Test func everyProblemIsReportedAtItsPositionNotOnlyTheFirst() throws {
        let yaml = """
            name: broken
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - name: Unknown
                    action: ExecutePowershell
                    inputs: {commands: [x]}
                  - name: Misspelled
                    action: ExecuteBash
                    onFaliure: Continue
                    inputs: {commands: [x]}
                  - name: Undeclared
                    action: ExecuteBash
                    inputs: {commands: ['echo {{ Nobody }}']}
                  - name: Chained
                    action: ExecuteBash
                    inputs: {commands: ['echo {{ build.Missing.outputs.stdout }}']}

            """
        let (component, problems, path) = try lint(yaml)
        #expect(component == nil)
        let found = problems.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0) \($0.message)" }
        #expect(problems.count == 4, "\(found)")
        #expect(problems.allSatisfy { $0.location?.file == path })
        #expect(found[0].hasPrefix("7:17 unknown action 'ExecutePowershell'"), "\(found)")
        #expect(found[1].hasPrefix("11:9 unknown key 'onFaliure' in item 2 of 'steps'"), "\(found)")
        #expect(found[2].hasPrefix("15:29 step 'Undeclared': undeclared reference '{{ Nobody }}'"), "\(found)")
        #expect(
            found[3]
                == "18:29 step 'Chained': '{{ build.Missing.outputs.stdout }}' chains to step 'Missing' of phase 'build', which the document does not have",
            "\(found)")
    }

    @Test func aDocumentWithoutBuildValidateOrTestIsRefused() throws {
        let (_, problems, _) = try lint(
            "schemaVersion: 1.0\nphases:\n  - name: other\n    steps:\n      - name: s\n        action: ExecuteBash\n        inputs: {commands: [x]}\n"
        )
        #expect(problems.map(\.message) == ["a document needs at least one of the phases build, validate or test"])
        #expect(problems.first?.location?.line == 3)
    }

    @Test func nameIsOptionalAndOtherPhasesAreKeptInDocumentOrder() throws {
        let (component, problems, _) = try lint(
            """
            schemaVersion: 1
            phases:
              - name: test
                steps:
                  - {name: t, action: ExecuteBash, inputs: {commands: [x]}}
              - name: container-host-test
                steps:
                  - {name: c, action: ExecuteBash, inputs: {commands: [x]}}
              - name: build
                steps:
                  - {name: b, action: ExecuteBash, timeoutSeconds: -1, inputs: {commands: [x]}}

            """)
        #expect(problems.isEmpty, "\(problems)")
        let loaded = try #require(component)
        #expect(loaded.name == "c")
        #expect(loaded.phases.map(\.name) == ["test", "container-host-test", "build"])
        #expect(loaded.phase(.build)?.steps.first?.timeoutSeconds == nil)
        #expect(loaded.phase(.test)?.steps.first?.timeoutSeconds == 7200)
    }

    @Test(arguments: [
        ("0", "timeoutSeconds must be -1 (no timeout) or a whole number from 1 to 31622400, got '0'"),
        ("-2", "timeoutSeconds must be -1 (no timeout) or a whole number from 1 to 31622400, got '-2'"),
    ])
    func timeoutsOtherThanMinusOneBelowOneAreRefused(value: String, expected: String) throws {
        let (_, problems, _) = try lint(
            "schemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - name: s\n        action: ExecuteBash\n        timeoutSeconds: \(value)\n        inputs: {commands: [x]}\n"
        )
        #expect(problems.map(\.message) == [expected])
        #expect(problems.first?.location?.line == 7)
    }

    @Test func parameterAndConstantRules() throws {
        let (_, problems, _) = try lint(
            """
            schemaVersion: 1.0
            parameters:
              - ab: {type: string}
              - Shared: {type: string, default: x}
              - Number: {type: integer}
            constants:
              - Shared: {type: string, value: y}
              - NoValue: {type: string}
              - NoType: {value: z}
            phases:
              - name: build
                steps:
                  - {name: s, action: ExecuteBash, inputs: {commands: [x]}}

            """)
        let found = problems.map { "\($0.location?.line ?? 0) \($0.message)" }
        #expect(
            found == [
                "3 parameter name 'ab' must be 3 to 128 letters, digits, '_' or '-'",
                "5 parameter type must be 'string', got 'integer'",
                "7 'Shared' is declared twice; parameter and constant names are unique together",
                "8 'NoValue' is missing the required key 'value'",
                "9 'NoType' is missing the required key 'type'",
            ], "\(found)")
    }

    @Test func loopsAndConditionsAreReadWithTheirReferences() throws {
        let (component, problems, _) = try lint(
            """
            schemaVersion: 1.0
            parameters:
              - Packages: {type: string, default: 'a,b'}
            phases:
              - name: build
                steps:
                  - name: Each
                    action: ExecuteBash
                    loop:
                      name: pkg
                      forEach: {list: '{{ Packages }}', delimiter: ','}
                    inputs: {commands: ['echo {{ pkg.value }} {{ loop.index }}']}
                  - name: Count
                    action: ExecuteBash
                    loop: {for: {start: 1, end: 3, updateBy: 1}}
                    if:
                      and:
                        - binaryExists: bash
                        - not: {stringEquals: x, value: '{{ build.Each.outputs.stdout }}'}
                    inputs: {commands: ['echo {{ loop.value }}']}
                  - name: Outside
                    action: ExecuteBash
                    inputs: {commands: ['echo {{ loop.value }}']}

            """)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.message.hasPrefix("step 'Outside': undeclared reference '{{ loop.value }}'") == true, "\(problems)")
        #expect(component == nil)
    }

    @Test func conditionsNestedDeeperThanFourLevelsAndUnknownOperatorsAreRefused() throws {
        let (_, problems, _) = try lint(
            """
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - name: Deep
                    action: ExecuteBash
                    if: {not: {not: {not: {not: {not: {binaryExists: bash}}}}}}
                    inputs: {commands: [x]}
                  - name: Unknown
                    action: ExecuteBash
                    if: {stringEqual: a, value: b}
                    inputs: {commands: [x]}

            """)
        let messages = problems.map(\.message)
        #expect(messages.count == 2, "\(messages)")
        #expect(messages.first == "logical operators nest deeper than 4 levels, which TOE refuses")
        #expect(messages.last?.hasPrefix("a condition needs one operator: and, or, not, stringIsEmpty") == true)
    }
}
