import HallmarkModel
import HallmarkSupport
import Pipeline

extension PipelineOptions {
    /// The pipeline's options from the groups a command takes; a stage that boots nothing passes no machine or evidence options.
    init(output: OutputOptions, machine: MachineOptions? = nil, evidence: EvidenceOptions? = nil) {
        self.init(
            home: .fromEnvironment(), reportsDirectory: absolutePath(output.reportsDirectory), accelerator: machine?.accel ?? .auto,
            gate: evidence?.gate, signingKey: evidence?.signingKey.map(absolutePath), console: Console(quiet: output.quiet))
        junitFlavour = evidence?.junit
        keepVMOnFailure = machine?.keepVMOnFailure ?? false
    }
}
