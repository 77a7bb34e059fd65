import Foundation
import HallmarkModel
import HallmarkSupport

/// One read-only observation the collector makes in the guest, identified by what it observes.
public struct Probe: Hashable, Sendable {
    /// Stable identity, e.g. `file:/etc/shadow`; facts are stored under it.
    public let key: String
    /// POSIX sh run inside the guest (for a batched probe: what it would run on its own).
    public let script: String
    /// Observes the running system (live kernel values, services, mounts, sockets): it cannot be
    /// collected from an unpacked root filesystem.
    public let runtime: Bool
    public let execution: Execution

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

    public enum Batch: Hashable, Sendable {
        case stat(path: String)
        case service(name: String)
    }

    public init(key: String, script: String, runtime: Bool = false, execution: Execution = .subshell(cost: 2)) {
        self.key = key
        self.script = script
        self.runtime = runtime
        self.execution = execution
    }
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

/// Everything observed in one boot: the raw evidence that evaluation reads and `facts.json` keeps.
public struct Facts: Codable, Sendable, Equatable {
    /// Where facts came from: a booted guest, or an unpacked root filesystem (static probes only).
    public enum Source: String, Codable, Sendable {
        case guest, rootfs
    }

    public var probes: [String: ProbeOutput]
    /// nil when the recipe did not ask for a reboot test.
    public var reboot: RebootFact?
    /// nil (older facts.json) means a guest.
    public var source: Source?

    public init(probes: [String: ProbeOutput] = [:], reboot: RebootFact? = nil, source: Source? = nil) {
        self.probes = probes
        self.reboot = reboot
        self.source = source
    }
}
