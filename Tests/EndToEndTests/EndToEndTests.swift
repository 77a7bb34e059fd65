import HallmarkTestSupport
import Testing

/// The real thing: the `hallmark` binary builds images with mmdebstrap, boots them in QEMU, checks
/// them through the guest agent and writes the evidence. Serialized: two TCG guests at once on a
/// two-core machine would only slow each other down. `make test-fast` skips this whole target.
@Suite(.serialized, .tags(.root)) struct EndToEndTests {}

// One suite per feature, each in its own file. Serialized tests run in source order, and a suite's
// place is its declaration here: `SignedEvidence` and `Gate` build e2e-minimal and e2e-root-login
// with `hallmark run`, and the later suites reuse those builds (`Hallmark.ensureBuilt`,
// `SharedImages.minimal()`), so moving them first would add image builds to the run.
extension EndToEndTests {
    @Suite(.tags(.vm)) struct SignedEvidence {}
    @Suite(.tags(.vm)) struct Gate {}
    @Suite(.tags(.vm)) struct Interrupts {}
    @Suite(.tags(.vm)) struct KeptVM {}
    @Suite(.tags(.vm)) struct ConsoleFallback {}
    @Suite(.tags(.vm)) struct PolicyOutcomes {}
    /// Static checks of a built image, no boot.
    @Suite(.tags(.imageBuild)) struct PolicyTestOnImages {}
    /// Build steps on the bootstrapped parent; the last test builds and boots a hostile image.
    @Suite(.tags(.imageBuild)) struct Sandbox {}
    /// Every output of one tree, built twice from the cached parent; no boot.
    @Suite(.tags(.imageBuild)) struct Outputs {}
    /// A cold build and a warm rebuild after editing the last component; no boot.
    @Suite(.tags(.imageBuild)) struct LayerCache {}
    @Suite(.tags(.vm)) struct VirtualMachineLayer {}
    /// `hallmark pipeline run`: builds its own e2e-minimal build (a pipeline always builds), boots it, ships it.
    @Suite(.tags(.vm, .imageBuild)) struct PipelineRun {}
    /// A tarball and a disk as parents (built, not booted); then a recipe whose
    /// parent is the previous build of another recipe, built and tested.
    @Suite(.tags(.imageBuild)) struct ParentBuilds {}
    @Suite(.tags(.vm)) struct ImageParent {}
    /// A build whose work directory fills up; no boot.
    @Suite(.tags(.imageBuild)) struct FullDisk {}
}
