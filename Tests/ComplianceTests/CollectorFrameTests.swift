import Foundation
import HallmarkSupport
import Testing

@testable import Compliance
@testable import HallmarkModel

/// The collector's frames can be neither forged nor overridden: every frame appears once, and
/// the boundary is sent on standard input, where no process in the guest can read it.
@Suite struct CollectorFrameTests {
    static let plan = CollectorPlan(probes: [Probe(key: "a", script: "true"), Probe(key: "b", script: "true")], boundary: "B")

    @Test func aLaterDuplicateFrameIsAProtocolError() {
        let genuine = "B 0 out\nreal\nB 0 end 1\nB 1 out\n\nB 1 end 0\n"
        #expect(throws: Never.self) { try Self.plan.parse(genuine) }
        #expect(throws: HallmarkError.self) { try Self.plan.parse(genuine + "B 0 out\nforged\nB 0 end 0\n") }
        #expect(throws: HallmarkError.self) { try Self.plan.parse(genuine + "B 0 err\nx\nB 0 end\nB 0 err\ny\nB 0 end\n") }
    }

    @Test func aFrameForAProbeThePlanDoesNotRunIsAProtocolError() {
        let genuine = "B 0 out\n\nB 0 end 0\nB 1 out\n\nB 1 end 0\n"
        #expect(throws: HallmarkError.self) { try Self.plan.parse(genuine + "B 7 out\n\nB 7 end 0\n") }
        #expect(throws: HallmarkError.self) { try Self.plan.parse(genuine + "B -1 err\n\nB -1 end\n") }
    }

    @Test func everyPlanHasItsOwnBoundary() {
        let probes = [Probe(key: "a", script: "true")]
        #expect(CollectorPlan(probes: probes).boundary != CollectorPlan(probes: probes).boundary)
    }

    /// Runs `CollectorPlan.command` under /bin/sh -c with the script on standard input, as the
    /// guest channel and the image collector do (here from a file: a Foundation `Process` would
    /// inherit the test runner's blocked SIGCHLD, and the script's `wait` would never return).
    static func runOnStandardInput(_ plan: CollectorPlan) async throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hallmark-stdin-\(UUID().uuidString)").path
        try Data(plan.stdin).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try await HostCommand("/bin/sh", ["-c", "\(CollectorPlan.command) <\"$1\"", "sh", path]).output()
    }

    @Test func theBoundaryIsInNoProcessArgumentsOrEnvironment() async throws {
        // A probe looks at every process's command line and environment for the boundary
        // (`$hm_b`, compared with builtins only, so the search itself does not carry it).
        let search = """
            hm_seen=0
            for hm_f in /proc/[0-9]*/cmdline /proc/[0-9]*/environ; do
              hm_text=$(tr '\\000' ' ' <"$hm_f" 2>/dev/null) || continue
              case $hm_text in *"$hm_b"*) hm_seen=$((hm_seen + 1));; esac
            done
            echo "seen=$hm_seen"
            """
        let plan = CollectorPlan(probes: [Probe(key: "search", script: search), Probe(key: "stdin", script: "cat")])
        let parsed = try plan.parse(try await Self.runOnStandardInput(plan))
        #expect(parsed["search"]?.stdout == "seen=0\n")
        // Nothing a probe starts can read the rest of the script.
        #expect(parsed["stdin"] == ProbeOutput(exitCode: 0, stdout: "", stderr: ""))
    }

    @Test func theScriptStillRunsWhenGivenAsAnArgument() async throws {
        let plan = CollectorPlan(probes: [Probe(key: "a", script: "echo a")])
        #expect(try plan.parse(try await HostCommand("/bin/sh", ["-c", plan.script]).output())["a"]?.stdout == "a\n")
    }
}
