import ArgumentParser
import Attestation
import Foundation
import HallmarkModel
import HallmarkSupport

extension KeyCommand {
    /// `hallmark key generate`: a new key pair, never over an existing one.
    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate an Ed25519 key pair: DIR/hallmark.key (PKCS#8 PEM, mode 0600) and DIR/hallmark.pub (SPKI PEM).",
            discussion: """
                Existing files are never overwritten. The key id is the sha256 of the public key's DER, \
                as printed by: openssl pkey -pubin -in DIR/hallmark.pub -outform DER | sha256sum
                """)

        @Option(name: .customLong("out"), help: ArgumentHelp("Directory for the key files (created when missing).", valueName: "DIR"))
        var directory: String
        @OptionGroup var output: JSONOutputOption

        func run() async throws {
            try await runReportingErrors {
                let files = try KeyFiles.generate(in: absolutePath(directory))
                if output.json {
                    try printJSON(["keyID": files.keyID, "privateKey": files.privateKeyPath, "publicKey": files.publicKeyPath])
                    return .gateOpen
                }
                print("key id: \(files.keyID)")
                print("private key: \(files.privateKeyPath) (mode 0600; keep it secret)")
                print("public key: \(files.publicKeyPath)")
                return .gateOpen
            }
        }
    }
}
