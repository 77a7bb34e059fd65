/// The formats a disk artifact can have: what a recipe asks for, what the store holds, what QEMU
/// and the static-facts reader are told.
public enum DiskFormat: String, Sendable, CaseIterable, Codable {
    case raw, qcow2

    /// The artifact's role and file name in an image directory.
    public var artifactRole: String { "disk.\(rawValue)" }
}
