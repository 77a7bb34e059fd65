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
    /// Where facts came from: a booted guest, an unpacked root filesystem (static probes only), or
    /// the disk artifact of a booted test, read on the host (its static probes).
    public enum Source: String, Codable, Sendable, Comparable {
        case guest, rootfs, image

        public static func < (lhs: Source, rhs: Source) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var probes: [String: ProbeOutput]
    /// nil when the recipe did not ask for a reboot test.
    public var reboot: RebootFact?
    /// nil (older facts.json) means a guest. What the facts as a whole describe: a booted test is
    /// `guest` even when its static probes were read from the artifact.
    public var source: Source?
    /// Probes observed somewhere other than `source`, by key: a booted test reads its static
    /// probes from the disk artifact (`image`). nil when every probe comes from `source`.
    public var probeSources: [String: Source]?

    public init(probes: [String: ProbeOutput] = [:], reboot: RebootFact? = nil, source: Source? = nil,
                probeSources: [String: Source]? = nil) {
        self.probes = probes
        self.reboot = reboot
        self.source = source
        self.probeSources = probeSources
    }

    /// Where the probe `key` was observed.
    public func source(of key: String) -> Source {
        probeSources?[key] ?? source ?? .guest
    }
}
