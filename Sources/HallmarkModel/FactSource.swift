/// Where facts are observed: a booted guest, an unpacked root filesystem (static probes only), or
/// the disk artifact of a booted test, read on the host (its static probes). A recipe's
/// `tests.static_facts` picks `image` or `guest` for a booted test's static probes.
public enum FactSource: String, Codable, Sendable, Comparable, CaseIterable {
    case guest, rootfs, image

    public static func < (lhs: FactSource, rhs: FactSource) -> Bool { lhs.rawValue < rhs.rawValue }
}
