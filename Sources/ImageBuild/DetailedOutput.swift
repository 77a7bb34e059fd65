import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

/// awstoe's `detailedoutput.json` for one run of components (a build's build and validate phases,
/// or a test's test phases): the run, then every document, its phases and their steps, each with
/// its status, attempts, times, settings, inputs, outputs and failure message, in the order they ran.
public struct DetailedOutput: Codable, Sendable, Equatable {
    public static let buildFileName = "detailedoutput.json"
    public static let testFileName = "test-detailedoutput.json"

    public var executionId: String
    /// `success` or `failed`.
    public var status: String
    public var startTime: Date
    public var endTime: Date
    public var failureMessage: String?
    public var executedStepCount: Int
    public var failedStepCount: Int
    public var documents: [Document]

    public struct Document: Codable, Sendable, Equatable {
        public var name: String
        public var filePath: String?
        /// `success`, `successWithIgnoredFailure` or `failed`, as TOE's document outcomes.
        public var status: String
        public var phases: [Phase]
    }

    public struct Phase: Codable, Sendable, Equatable {
        public var name: String
        public var status: String
        public var steps: [Step]
    }

    public struct Step: Codable, Sendable, Equatable {
        public var name: String
        public var action: String
        /// `success`, `skipped` (its `if` did not hold), `ignored` (failed, onFailure Ignore) or `failed`.
        public var status: String
        public var attempts: Int
        public var exitCode: Int32
        public var seconds: Double
        public var detail: StepDetail?
        /// The step ran in an earlier build whose tree the layer cache gave this one.
        public var fromLayerCache: Bool?
    }

    /// Groups `records` as they ran: a new document each time the component changes (an
    /// ExecuteDocument's steps are the nested document's, ahead of the step that ran it), a new
    /// phase each time the phase changes. The first `fromLayerCache` records are marked so.
    public init(
        executionId: String, startTime: Date, endTime: Date, records: [StepRecord], paths: [String: String], fromLayerCache: Int,
        failure: String?
    ) {
        (self.executionId, self.startTime, self.endTime, failureMessage) = (executionId, startTime, endTime, failure)
        var documents: [Document] = []
        for (index, record) in records.enumerated() {
            let step = Step(
                name: record.step, action: record.action, status: record.outcome, attempts: record.attempts,
                exitCode: record.exitCode, seconds: record.seconds, detail: record.detail,
                fromLayerCache: index < fromLayerCache ? true : nil)
            if documents.last?.name != record.component {
                documents.append(Document(name: record.component, filePath: paths[record.component], status: "", phases: []))
            }
            if documents[documents.count - 1].phases.last?.name != record.phase {
                documents[documents.count - 1].phases.append(Phase(name: record.phase, status: "", steps: []))
            }
            let document = documents.count - 1
            documents[document].phases[documents[document].phases.count - 1].steps.append(step)
        }
        for document in documents.indices {
            for phase in documents[document].phases.indices {
                documents[document].phases[phase].status = Self.status(of: documents[document].phases[phase].steps.map(\.status))
            }
            documents[document].status = Self.status(of: documents[document].phases.flatMap(\.steps).map(\.status))
        }
        self.documents = documents
        executedStepCount = records.count { $0.outcome != "skipped" }
        failedStepCount = records.count { $0.outcome == "failed" }
        status = failure == nil && failedStepCount == 0 ? "success" : "failed"
    }

    static func status(of steps: [String]) -> String {
        if steps.contains("failed") { return "failed" }
        return steps.contains("ignored") ? "successWithIgnoredFailure" : "success"
    }

    /// Writes the file for one run at `path`, whole or not at all; a run's components and its
    /// start are fixed when it begins.
    public struct Writer: Sendable {
        var path: String
        var paths: [String: String]
        var fromLayerCache: Int
        let executionId = UUID().uuidString.lowercased()
        let startTime = Date()

        public init(path: String, components: [Component], fromLayerCache: Int = 0) {
            self.path = path
            // Nested documents are named by their own name too.
            var paths: [String: String] = [:]
            for component in components {
                paths[component.name] = component.path
                for nested in component.documents.values { paths[nested.name] = paths[nested.name] ?? nested.path }
            }
            (self.paths, self.fromLayerCache) = (paths, fromLayerCache)
        }

        /// A file that cannot be written is said in the log; it does not fail the run it describes.
        public func write(_ records: [StepRecord], failure: String?, log: (String) -> Void) {
            let output = DetailedOutput(
                executionId: executionId, startTime: startTime, endTime: Date(), records: records, paths: paths,
                fromLayerCache: fromLayerCache, failure: failure)
            do {
                try JSONEncoder.hallmark.encode(output).write(to: URL(fileURLWithPath: path), options: .atomic)
            } catch {
                log("cannot write \(path): \(error)")
            }
        }
    }
}
