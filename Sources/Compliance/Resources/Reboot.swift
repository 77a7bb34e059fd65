import Foundation
import HallmarkModel
import HallmarkSupport

/// The guest reboots and comes back (the recipe's `tests.reboot`).
public struct RebootCheck: Resource {
    public init() {}

    public init(yaml body: YAMLInput) throws {
        _ = try body.isNull ? nil : body.mapping(allowed: [])
    }

    public static let kind = ResourceKind.reboot

    /// Observed by the pipeline, which reboots the guest (`Facts.reboot`), not by a probe.
    public var probes: [Probe] { [] }

    public func sources(in facts: Facts) -> Set<FactSource> { facts.reboot == nil ? [] : [.guest] }

    public func evaluate(_ facts: Facts) -> Outcome {
        if facts.reboot == nil && facts.source == .rootfs {
            return Outcome(.notchecked, "runtime-only: a reboot cannot be tested on an unpacked root filesystem", "")
        }
        return Self.evaluate(facts.reboot)
    }

    static func evaluate(_ reboot: RebootFact?) -> Outcome {
        guard let reboot else { return Outcome(.notchecked, "the recipe does not ask for a reboot test (tests.reboot)", "") }
        if let failure = reboot.failure { return Outcome(.fail, failure, "boot_id before: \(reboot.bootIDBefore)") }
        guard let after = reboot.bootIDAfter, after != reboot.bootIDBefore else {
            return Outcome(.fail, "the guest answered with the same boot_id: it did not reboot", "boot_id: \(reboot.bootIDBefore)")
        }
        let seconds = reboot.secondsToReturn.map { String(format: "%.1f s", $0) } ?? "?"
        return Outcome(.pass, "came back with a new boot_id after \(seconds)", "boot_id \(reboot.bootIDBefore) → \(after) in \(seconds)")
    }
}

extension Check {
    public static let reboot = Check(RebootCheck())
}
