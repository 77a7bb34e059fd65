import Foundation
import HallmarkTestSupport
import Testing

@testable import HallmarkModel
@testable import HallmarkSupport
@testable import ImageBuild
@testable import ImageStore

/// detailedoutput.json: every step of a run with its status, times, inputs and outputs, grouped
/// by document and phase, with TOE's document outcomes.
@Suite struct DetailedOutputTests {
    static let document = """
        name: detailed
        schemaVersion: 1.0
        phases:
          - name: build
            steps:
              - name: Greet
                action: ExecuteBash
                maxAttempts: 2
                timeoutSeconds: 30
                inputs: {commands: ['echo hello']}
              - name: Skipped
                action: ExecuteBash
                if: {binaryExists: no-such-binary-here}
                inputs: {commands: ['exit 1']}
              - name: Tolerated
                action: ExecuteBash
                onFailure: Ignore
                inputs: {commands: ['echo bad >&2; exit 3']}
              - name: Quiet
                action: ExecuteBash
                disableLogging: true
                inputs: {commands: ['echo secret-value']}
          - name: validate
            steps:
              - name: Check
                action: ExecuteBash
                timeoutSeconds: -1
                inputs: {commands: ['echo "{{ build.Greet.outputs.stdout }} again"']}

        """

    func records(_ yaml: String) async throws -> ([StepRecord], ComponentStepFailure?) {
        let runner = ComponentRunner(component: try loadComponent(yaml), parameters: [:], log: { _ in })
        var outputs: [String: String] = [:]
        var records: [StepRecord] = []
        do {
            for phase in ["build", "validate"] { records += try await runner.run(phaseNamed: phase, on: LocalBash(), outputs: &outputs) }
            return (records, nil)
        } catch let failure as ComponentStepFailure {
            return (records + failure.records, failure)
        }
    }

    @Test func everyStepIsThereWithItsStatusInputsAndOutputs() async throws {
        let (records, failure) = try await records(Self.document)
        #expect(failure == nil)
        let output = DetailedOutput(
            executionId: "e", startTime: Date(), endTime: Date(), records: records, paths: ["detailed": "/c/detailed.yaml"],
            fromLayerCache: 0, failure: nil)
        #expect(output.status == "success")
        #expect((output.executedStepCount, output.failedStepCount) == (4, 0))
        #expect(output.documents.map(\.name) == ["detailed"])
        let document = try #require(output.documents.first)
        #expect(document.filePath == "/c/detailed.yaml")
        // An ignored failure makes the document SuccessWithIgnoredFailure, as in TOE.
        #expect(document.status == "successWithIgnoredFailure")
        #expect(document.phases.map(\.name) == ["build", "validate"])
        #expect(document.phases.map(\.status) == ["successWithIgnoredFailure", "success"])
        let build = document.phases[0].steps
        #expect(build.map(\.status) == ["success", "skipped", "ignored", "success"])
        let greet = try #require(build[0].detail)
        #expect(greet.inputs == ["commands[0]": "echo hello"])
        #expect(greet.outputs == ["stdout": "hello"])
        #expect((greet.timeoutSeconds, greet.maxAttempts, greet.onFailure) == (30, 2, "Abort"))
        #expect(greet.startTime <= greet.endTime)
        #expect(build[2].detail?.failureMessage?.hasPrefix("failed with exit code 3 after 1 attempt(s)") == true)
        #expect(build[2].exitCode == 3)
        // disableLogging keeps a step's inputs and outputs out of the file.
        let quiet = try #require(build[3].detail)
        #expect(quiet.loggingDisabled && quiet.inputs == nil && quiet.outputs == nil)
        let check = try #require(document.phases[1].steps.first?.detail)
        #expect(check.timeoutSeconds == nil)
        #expect(check.inputs == ["commands[0]": "echo \"hello again\""])
        #expect(check.outputs == ["stdout": "hello again"])
        let json = String(decoding: try JSONEncoder.hallmark.encode(output), as: UTF8.self)
        #expect(!json.contains("secret-value"))
    }

    @Test func aFailedStepIsRecordedWithItsMessageAndTheRunFails() async throws {
        let yaml = """
            name: failing
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - {name: First, action: ExecuteBash, onFailure: Continue, inputs: {commands: ['exit 4']}}
                  - {name: Second, action: ExecuteBash, inputs: {commands: ['echo still ran']}}

            """
        let (records, failure) = try await records(yaml)
        let failed = try #require(failure)
        // Continue runs the remaining steps, then fails the document.
        #expect(records.map(\.outcome) == ["failed", "success"])
        let output = DetailedOutput(
            executionId: "e", startTime: Date(), endTime: Date(), records: records, paths: [:], fromLayerCache: 1,
            failure: failed.message)
        #expect(output.status == "failed")
        #expect(output.failureMessage == failed.message)
        #expect((output.executedStepCount, output.failedStepCount) == (2, 1))
        let steps = output.documents[0].phases[0].steps
        #expect(steps[0].detail?.failureMessage == "failed with exit code 4 after 1 attempt(s)")
        #expect(steps.map(\.fromLayerCache) == [true, nil])
        #expect(output.documents[0].status == "failed")
    }

    @Test func theWriterLeavesAWholeFile() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/" + DetailedOutput.buildFileName
        let (records, _) = try await records(Self.document)
        DetailedOutput.Writer(path: path, components: [try loadComponent(Self.document)]).write(records, failure: nil, log: { _ in })
        let read = try JSONDecoder.hallmark.decode(DetailedOutput.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(read.documents.first?.phases.first?.steps.count == 4)
        #expect(read.executionId.count == 36)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == [DetailedOutput.buildFileName])
    }
}
