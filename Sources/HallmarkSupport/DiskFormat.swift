/// The formats a disk artifact can have: what a recipe asks for, what the store holds, what QEMU
/// and the static-facts reader are told.
public enum DiskFormat: String, Sendable, CaseIterable, Codable {
    case raw, qcow2

    /// The artifact's role and file name in an image directory.
    public var artifactRole: String { "disk.\(rawValue)" }
}

/// What a recipe's `outputs` may name: the two disks a test boots, and two outputs derived from
/// the same tree that no test boots (the rootfs as a tar, the rootfs as an OCI image layout).
public enum OutputFormat: String, Sendable, CaseIterable, Codable {
    case raw, qcow2, tar, oci

    /// The disk format, for the outputs a test can boot.
    public var disk: DiskFormat? { DiskFormat(rawValue: rawValue) }

    /// The file (or, for `oci`, directory) name in an image directory.
    public var artifactName: String {
        switch self {
        case .raw, .qcow2: return "disk.\(rawValue)"
        case .tar: return "rootfs.tar"
        case .oci: return "oci"
        }
    }

    /// How the evidence relates to the output: the disk is what a test boots; tar and OCI are
    /// written from the very tree the disk was made from, and are not booted themselves.
    public var evidence: OutputEvidence { disk == nil ? .derived : .booted }
}

/// Whether a test boots an output or the output is derived from the tree of the booted disk.
public enum OutputEvidence: String, Sendable, Codable {
    case booted, derived
}
