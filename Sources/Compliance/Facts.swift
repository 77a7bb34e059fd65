import Foundation
import HallmarkModel
import HallmarkSupport

/// One read-only observation the collector makes in the guest, identified by what it observes.
public struct Probe: Hashable, Sendable {
    /// Stable identity, e.g. `file:/etc/shadow`; facts are stored under it.
    public let key: ProbeKey
    /// POSIX sh run inside the guest (for a batched probe: what it would run on its own).
    public let script: String
    /// Observes the running system (live kernel values, services, mounts, sockets): it cannot be
    /// collected from an unpacked root filesystem.
    public let runtime: Bool
    public let execution: Execution
    /// Shell run once before any probe, for what several probes of a kind share (the kernel
    /// release and its built-in modules); identical preludes run once.
    public let prelude: String?

    /// How the collector runs a probe. Under TCG every program a guest starts costs 50–90 ms, so
    /// probes that only need shell builtins run without a subshell, and probes of one kind that a
    /// single program can answer together (stat, systemctl show) share one run of it.
    public enum Execution: Hashable, Sendable {
        /// In its own subshell (it may set variables or exit); `cost` estimates the programs it starts.
        case subshell(cost: Int)
        /// In the collector's shell: Hallmark-written scripts that use builtins only.
        case inline
        /// Answered by one program run shared with the other probes of the batch.
        case batched(Batch)
    }

    /// A probe's place in a batch: which batch, and the thing (path, unit) it asks about.
    public struct Batch: Hashable, Sendable {
        public let kind: any ProbeBatch.Type
        public let member: String

        public init(_ kind: any ProbeBatch.Type, member: String) {
            self.kind = kind
            self.member = member
        }

        public static func == (lhs: Batch, rhs: Batch) -> Bool {
            ObjectIdentifier(lhs.kind) == ObjectIdentifier(rhs.kind) && lhs.member == rhs.member
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(ObjectIdentifier(kind))
            hasher.combine(member)
        }
    }

    public init(key: ProbeKey, script: String, runtime: Bool = false, execution: Execution = .subshell(cost: 2), prelude: String? = nil) {
        self.key = key
        self.script = script
        self.runtime = runtime
        self.execution = execution
        self.prelude = prelude
    }
}

/// Probes of one kind that one program answers together; the resource that batches them defines
/// it, beside the parser that reads each member's output.
public protocol ProbeBatch: Sendable {
    /// Orders the lanes' list, as a subshell probe's cost does.
    static var cost: Int { get }
    /// The script that answers every member at once.
    static func script(members: [String]) -> String
    /// Each member's output (in `members` order), shaped as its probe reports it when run alone, so
    /// facts.json and policy test cases hold one format.
    static func split(_ output: ProbeOutput, members: [String]) -> [ProbeOutput]
}

/// What a probe printed.
public typealias ProbeOutput = CommandOutput

/// The outcome of the reboot test, observed by the pipeline (not by a probe).
public struct RebootFact: Codable, Sendable, Equatable {
    public var bootIDBefore: String
    public var bootIDAfter: String?
    /// Seconds from the reboot request until the guest answered again.
    public var secondsToReturn: Double?
    /// Why the guest did not come back, when it did not.
    public var failure: String?

    public init(bootIDBefore: String, bootIDAfter: String?, secondsToReturn: Double?, failure: String?) {
        self.bootIDBefore = bootIDBefore
        self.bootIDAfter = bootIDAfter
        self.secondsToReturn = secondsToReturn
        self.failure = failure
    }
}

/// How long one boot of the test took, observed by the pipeline (not by a probe).
public struct BootTimeFact: Codable, Sendable, Equatable {
    /// `boot` or `reboot`.
    public var boot: String
    public var agentSeconds: Double?
    /// Until `systemctl is-system-running --wait` returned, from the same start as `agentSeconds`.
    public var settledSeconds: Double?
    public var kernelSeconds: Double?
    public var userspaceSeconds: Double?
    /// The factor guest timeouts were scaled by (1 on KVM).
    public var scale: Double
    public var accelerator: String
    public var slowestUnit: String?

    public init(
        boot: String, agentSeconds: Double?, settledSeconds: Double?, kernelSeconds: Double?, userspaceSeconds: Double?,
        scale: Double, accelerator: String, slowestUnit: String?
    ) {
        (self.boot, self.agentSeconds, self.settledSeconds, self.kernelSeconds, self.userspaceSeconds) =
            (boot, agentSeconds, settledSeconds, kernelSeconds, userspaceSeconds)
        (self.scale, self.accelerator, self.slowestUnit) = (scale, accelerator, slowestUnit)
    }
}

/// Everything observed in one boot: the raw evidence that evaluation reads and `facts.json` keeps.
public struct Facts: Codable, Sendable, Equatable {
    public var probes: [ProbeKey: ProbeOutput]
    /// nil when the recipe did not ask for a reboot test.
    public var reboot: RebootFact?
    /// nil (older facts.json) means a guest. What the facts as a whole describe: a booted test is
    /// `guest` even when its static probes were read from the artifact.
    public var source: FactSource?
    /// Probes observed somewhere other than `source`, by key: a booted test reads its static
    /// probes from the disk artifact (`image`). nil when every probe comes from `source`.
    public var probeSources: [ProbeKey: FactSource]?
    /// Each boot's times, first boot then reboot; nil when no guest booted.
    public var bootTimes: [BootTimeFact]?

    public init(
        probes: [ProbeKey: ProbeOutput] = [:], reboot: RebootFact? = nil, source: FactSource? = nil,
        probeSources: [ProbeKey: FactSource]? = nil
    ) {
        self.probes = probes
        self.reboot = reboot
        self.source = source
        self.probeSources = probeSources
    }

    /// The state systemd settled on (`systemctl is-system-running --wait`), observed by the boot
    /// session rather than by a probe. facts.json keeps it among the probes, under `system-state`,
    /// as it always has.
    public var systemState: ProbeOutput? {
        get { probes[Self.systemStateKey] }
        set { probes[Self.systemStateKey] = newValue }
    }

    static let systemStateKey: ProbeKey = "system-state"

    /// Where the probe `key` was observed.
    public func source(of key: ProbeKey) -> FactSource {
        probeSources?[key] ?? source ?? .guest
    }

    /// What `probe` printed. Rules read only probes that were collected (the evaluator says "not
    /// checked" otherwise); the fallback keeps this total.
    func output(_ probe: Probe) -> ProbeOutput {
        probes[probe.key] ?? ProbeOutput(exitCode: -1, stdout: "", stderr: "no fact '\(probe.key)' was collected")
    }

    /// Why `probe` has no output: not collected, or not observable where the facts come from.
    func notCollected(_ probe: Probe) -> String {
        source == .rootfs && probe.runtime
            ? "runtime-only: '\(probe.key)' cannot be observed in an unpacked root filesystem"
            : "no fact '\(probe.key)' was collected"
    }
}
