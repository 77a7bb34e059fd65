import Foundation
import HallmarkSupport
import HallmarkTestSupport
import ImageBuild
import ImageStore
import Testing

/// Images the suites share instead of building their own: the first `hallmark run` of a fixture
/// builds it, later tests take the newest build from the store.
enum SharedImages {
    static let home = HallmarkHome(root: Hallmark.home)

    /// The newest e2e-minimal image, built first if the suite runs alone.
    static func minimal() async throws -> ImageArtifacts {
        if let image = try ImageStore(home: home).latest(name: "e2e-minimal", version: "1.0.0") { return image }
        let build = try await Hallmark.run(["build", Repository.root + "/Tests/Fixtures/minimal.yaml"], reports: Hallmark.scratchReports())
        try #require(build.status == .exited(0), "\(build.output)")
        return try #require(try ImageStore(home: home).latest(name: "e2e-minimal", version: "1.0.0"))
    }
}
