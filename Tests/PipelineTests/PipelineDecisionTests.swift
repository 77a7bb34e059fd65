import Compliance
import Foundation
import HallmarkModel
import HallmarkSupport
import Testing

@testable import Pipeline

/// The test stage's decisions, without a VM: whether a VM is kept, and where static facts come from.
@Suite struct PipelineDecisionTests {
    struct BootFailed: Error {}

    @Test(arguments: [(Verdict.pass, false), (.fail, true), (.incomplete, true)])
    func aVMIsKeptOnlyWhenAskedAndTheTestDidNotPass(verdict: Verdict, kept: Bool) {
        #expect(BootSession.keepsVM(onFailure: true, outcome: .success(verdict)) == kept)
        #expect(!BootSession.keepsVM(onFailure: false, outcome: .success(verdict)))
    }

    @Test func aVMWhoseTestThrewIsKeptWhenAsked() {
        #expect(BootSession.keepsVM(onFailure: true, outcome: .failure(BootFailed())))
        #expect(!BootSession.keepsVM(onFailure: false, outcome: .failure(BootFailed())))
    }

    @Test func staticFactsComeFromTheArtifactWhenItsReadingSucceeded() {
        let source = FactCollection.StaticFactsSource.decide(setting: .image, reading: .success(()))
        #expect(source == .init(location: .image, note: nil))
    }

    @Test func staticFactsFallBackToTheGuestWithTheReasonWhenTheArtifactCannotBeRead() {
        let failure = HallmarkError.infrastructure("qcow2 has a backing file")
        let source = FactCollection.StaticFactsSource.decide(setting: .image, reading: .failure(failure))
        #expect(source.location == .guest)
        #expect(
            source.note
                == "the disk artifact could not be read on the host, so static facts were collected in the guest: qcow2 has a backing file")
    }

    @Test func staticFactsAreReadInTheGuestWhenTheRecipeAsks() {
        let source = FactCollection.StaticFactsSource.decide(setting: .guest, reading: nil)
        #expect(source.location == .guest)
        #expect(source.note?.contains("tests.static_facts: guest") == true)
    }

    @Test func noStaticFactSourceWhenNoControlNeedsOne() {
        #expect(FactCollection.StaticFactsSource.decide(setting: nil, reading: nil) == .init(location: nil, note: nil))
    }

    /// A recipe asking for static facts from the image, with controls that need none, reads no artifact.
    @Test func theArtifactIsNotReadWhenNoControlNeedsAStaticFact() {
        let collection = FactCollection(controls: [], staticFacts: .image, environment: [:], console: Console(quiet: true))
        #expect(collection.setting == nil)
    }
}
