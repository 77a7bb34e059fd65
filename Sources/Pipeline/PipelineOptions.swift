import HallmarkModel
import HallmarkSupport
import VirtualMachine

/// Settings shared by the stages, from the command line.
public struct PipelineOptions: Sendable {
    public var home: HallmarkHome
    public var reportsDirectory: String
    public var accelerator: AcceleratorProbe.Choice
    /// Overrides the recipe's gate threshold when set.
    public var gate: Severity?
    /// PKCS#8 PEM Ed25519 key that signs report.dsse.json (`--signing-key`); when nil, the recipe's
    /// `evidence.signing_key`, then `$HALLMARK_SIGNING_KEY`; with none, reports are unsigned.
    public var signingKey: String?
    /// `--junit`; when nil, the recipe's `evidence.junit`, else standard. `standard` validates against
    /// both JUnit schemas; `rich` adds per-testcase properties and file/line.
    public var junitFlavour: JUnitFlavour?
    /// Leave the test VM running when the test fails, for `hallmark shell` and `hallmark stop`.
    public var keepVMOnFailure = false
    public var console: Console

    public init(
        home: HallmarkHome, reportsDirectory: String, accelerator: AcceleratorProbe.Choice, gate: Severity?,
        signingKey: String?, console: Console
    ) {
        self.home = home
        self.reportsDirectory = reportsDirectory
        self.accelerator = accelerator
        self.gate = gate
        self.signingKey = signingKey
        self.console = console
    }
}
