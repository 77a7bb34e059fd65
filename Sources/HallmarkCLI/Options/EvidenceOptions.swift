import ArgumentParser
import HallmarkModel

extension Severity: ExpressibleByArgument {}
extension JUnitFlavour: ExpressibleByArgument {}

/// What the evidence says and how it is written: the gate, the signature, the JUnit flavour. Test and run.
struct EvidenceOptions: ParsableArguments {
    @Option(help: "Lowest severity whose failure closes the gate (overrides the recipe's tests.gate).")
    var gate: Severity?

    @Option(
        help: ArgumentHelp(
            "Ed25519 private key (PKCS#8 PEM) that signs report.dsse.json (default: the recipe's evidence.signing_key, then $HALLMARK_SIGNING_KEY).",
            valueName: "PATH"))
    var signingKey: String?

    @Option(
        help:
            "JUnit flavour: standard (valid against the Ant and Jenkins schemas) or rich (adds each control's policy file, line, CIS id, severity and waiver as testcase properties). Default: the recipe's evidence.junit, else standard."
    )
    var junit: JUnitFlavour?
}
