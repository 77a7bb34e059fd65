import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import HallmarkModel
@testable import ImageBuild
@testable import ImageStore

/// `{{ aws:ssm:resolve(NAME) }}`: loaded as a reference, resolved from the recipe's secrets: or
/// Parameter Store before anything runs, and never written: every log line, record and message
/// has `***` where the value was.
@Suite struct SecretTests {
    static let document = """
        name: uses-secret
        schemaVersion: 1.0
        phases:
          - name: build
            steps:
              - name: Write
                action: ExecuteBash
                inputs: {commands: ['echo "token={{ aws:ssm:resolve(/app/token) }}" > "$HALLMARK_SECRET_OUT"', 'echo "printed {{ aws:ssm:resolve(/app/token) }}"']}
              - name: Fail
                action: ExecuteBash
                onFailure: Ignore
                inputs: {commands: ['echo "bad {{ aws:ssm:resolve(/app/token) }}" >&2; exit 2']}

        """

    @Test func aSecretIsUsedByTheStepAndRedactedEverywhereElse() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-secret")
        defer { scratch.remove() }
        let component = try loadComponent(Self.document.replacingOccurrences(of: "$HALLMARK_SECRET_OUT", with: scratch.file("out")))
        #expect(SecretValues.names(in: [component]) == ["/app/token"])
        // A loop's values are texts too.
        let looped = try loadComponent(
            "name: loops\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n"
                + "      - {name: Each, action: ExecuteBash, loop: {forEach: ['{{ aws:ssm:resolve(in/loop) }}']}, inputs: {commands: [true]}}\n"
        )
        #expect(SecretValues.names(in: [looped]) == ["in/loop"])
        let secrets = try await SecretValues.resolve(
            for: [component], sources: ["/app/token": .environment("APP_TOKEN")], environment: ["APP_TOKEN": "s3cr3t-value"])
        let lines = LogLines()
        let runner = ComponentRunner(component: component, parameters: [:], secrets: secrets, log: { lines.append(secrets.redact($0)) })
        var outputs: [String: String] = [:]
        let records = secrets.redact(try await runner.run(phaseNamed: "build", on: LocalBash(), outputs: &outputs))
        // The step saw the value itself.
        #expect(try String(contentsOfFile: scratch.file("out"), encoding: .utf8) == "token=s3cr3t-value\n")
        let everything = lines.all.joined(separator: "\n") + String(decoding: try JSONEncoder.hallmark.encode(records), as: UTF8.self)
        #expect(!everything.contains("s3cr3t-value"), "\(everything)")
        #expect(everything.contains("printed ***"), "\(everything)")
        #expect(records[0].detail?.outputs?["stdout"] == "printed ***")
        #expect(records[0].detail?.inputs?["commands[1]"] == "echo \"printed ***\"")
        #expect(records[1].outcome == "ignored")
    }

    @Test func aFileSecretLosesItsNewlineAndMissingSourcesAreClearErrors() async throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-secret")
        defer { scratch.remove() }
        let component = try loadComponent(Self.document)
        let file = try scratch.write("token", "from-a-file\n")
        let fromFile = try await SecretValues.resolve(for: [component], sources: ["/app/token": .file(file)], environment: [:])
        #expect(fromFile.values == ["aws:ssm:resolve(/app/token)": "from-a-file"])

        let unset = await #expect(throws: HallmarkError.self) {
            try await SecretValues.resolve(for: [component], sources: ["/app/token": .environment("APP_TOKEN")], environment: [:])
        }
        #expect(unset?.message.contains("environment variable APP_TOKEN") == true)
        let unlisted = await #expect(throws: HallmarkError.self) {
            try await SecretValues.resolve(for: [component], sources: [:], environment: [:])
        }
        #expect(unlisted?.message.contains("does not list, and no AWS settings") == true)
        // A document without dynamic references needs nothing.
        #expect(try await SecretValues.resolve(for: [], sources: [:], environment: [:]).values.isEmpty)
    }

    @Test func theRecipeSaysWhereEachSecretComesFrom() throws {
        let scratch = try TemporaryDirectory(prefix: "hallmark-secret")
        defer { scratch.remove() }
        let head = "name: x\nversion: 1.0.0\nparent: {debian: {suite: bookworm}}\n"
        let recipe = try Recipe.load(
            path: try scratch.write("r.yaml", head + "secrets:\n  /app/token: {env: APP_TOKEN}\n  db.password: {file: keys/db}\n"))
        #expect(recipe.secrets == ["/app/token": .environment("APP_TOKEN"), "db.password": .file(scratch.file("keys/db"))])
        let both = try #require(throws: HallmarkError.self) {
            try Recipe.load(path: try scratch.write("b.yaml", head + "secrets:\n  token: {env: A, file: b}\n"))
        }
        #expect(both.location?.line == 5)
        #expect(both.message.contains("needs exactly one of: env"))
        let value = try #require(throws: HallmarkError.self) {
            try Recipe.load(path: try scratch.write("c.yaml", head + "secrets:\n  token: {value: hunter2}\n"))
        }
        #expect(value.message.contains("unknown key 'value'"), "\(value.message)")
    }
}

extension S3DownloadTests {
    /// A name the recipe does not list comes from Parameter Store (moto's SSM API, through the `aws` CLI).
    @Test func anUnlistedSecretComesFromParameterStore() async throws {
        try await withMoto { _, _ in
            try await HostCommand(
                "aws", ["ssm", "put-parameter", "--name", "/app/token", "--type", "SecureString", "--value", "from-ssm"]
            ).run()
            let component = try loadComponent(SecretTests.document)
            let secrets = try await SecretValues.resolve(for: [component], sources: [:])
            #expect(secrets.values == ["aws:ssm:resolve(/app/token)": "from-ssm"])
            let missing = try loadComponent(SecretTests.document.replacingOccurrences(of: "/app/token", with: "/app/none"))
            let error = await #expect(throws: HallmarkError.self) { try await SecretValues.resolve(for: [missing], sources: [:]) }
            #expect(error?.message.contains("secret '/app/none' from Parameter Store") == true, "\(error?.message ?? "")")
        }
    }
}
