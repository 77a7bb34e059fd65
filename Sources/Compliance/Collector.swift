import Foundation
import HallmarkModel
import HallmarkSupport

/// Which probes the controls need; each resource knows its own (`Resource.probes`).
/// `CollectorPlan` turns a set of probes into the one script that runs in the guest.
public enum Collector {
    /// The probes the controls need (checks and `only_if` preconditions), without duplicates, in a stable order.
    public static func probes(for controls: [Control]) -> [Probe] {
        var probes: [Probe] = []
        var seen: Set<ProbeKey> = []
        for control in controls {
            for probe in requiredProbes(control) where seen.insert(probe.key).inserted {
                probes.append(probe)
            }
        }
        return probes
    }

    /// The probes for `source`: a root filesystem gets only the static ones (files, packages,
    /// accounts, find, persisted sysctl, modprobe -n, sshd -T, non-runtime commands).
    public static func probes(for controls: [Control], source: FactSource) -> [Probe] {
        let all = probes(for: controls)
        return source == .rootfs ? split(all).image : all
    }

    /// Where each probe of a booted test runs: static probes against the disk artifact on the host
    /// (while the guest boots), runtime ones in the guest.
    public static func split(_ probes: [Probe]) -> (image: [Probe], guest: [Probe]) {
        (probes.filter { !$0.runtime }, probes.filter(\.runtime))
    }

    static func requiredProbes(_ control: Control) -> [Probe] {
        (control.onlyIf?.probes ?? []) + control.check.probes
    }
}
