import ArgumentParser
import Attestation
import Foundation
import HallmarkModel
import HallmarkSupport

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a signed report (report.dsse.json): signature, statement, artifact digests, verdict.",
        discussion: """
            Checks, in order: the envelope parses, its payloadType is application/vnd.in-toto+json, \
            a signature verifies with the public key, the payload is an in-toto Statement v1 with \
            Hallmark's predicate, each --artifact file's sha256 is one of the subjects, and the \
            report's verdict is pass.

            Exit codes: 0 verified; 1 a check failed (printed as "verification failed: <check>: <why>"); \
            64 usage; 65 unreadable or malformed envelope or key file.
            """)

    @Argument(help: ArgumentHelp("DSSE envelope file (report.dsse.json).", valueName: "ENVELOPE"))
    var envelope: String

    @Option(name: .customLong("key"), help: ArgumentHelp("Public key (SPKI PEM, e.g. hallmark.pub).", valueName: "PUB"))
    var publicKey: String

    @Option(name: .customLong("artifact"), help: ArgumentHelp(
        "A file that must be a subject of the statement (repeat for each file).", valueName: "FILE"))
    var artifacts: [String] = []

    func run() async throws {
        try await runReportingErrors {
            let key = try VerifyingKey(pemFile: publicKey)
            guard let data = FileManager.default.contents(atPath: envelope) else {
                throw HallmarkError.invalidInput("cannot read envelope file", at: SourceLocation(file: envelope))
            }
            let result = try await Attestation.verify(envelope: data, publicKey: key, artifacts: artifacts)
            if let failure = result.failure, failure.check == .envelope {
                throw HallmarkError.invalidInput(failure.reason, at: SourceLocation(file: envelope))
            }
            print(result.description)
            // Not an ExitStatus: 1 here means "a verification check failed", documented above.
            if !result.passed { throw ExitCode(1) }
            return .gateOpen
        }
    }
}
