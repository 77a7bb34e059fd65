import Testing

/// What a test needs beyond the toolchain, so a suite can be picked or skipped by cost.
/// `make test-fast` skips the EndToEndTests target, where every `.vm` and `.imageBuild` test lives
/// (Swift 6.3's `swift test` cannot filter by tag yet); `Hallmark.run` refuses an untagged boot.
extension Tag {
    /// Boots a guest under QEMU (TCG: minutes each), building its image first if needed.
    @Tag public static var vm: Tag
    /// Builds an image or its Debian parent with mmdebstrap, or reads one built earlier; boots nothing.
    @Tag public static var imageBuild: Tag
    /// Needs root: mounts, namespaces, loop devices, chroot.
    @Tag public static var root: Tag
    /// Runs the built `hallmark` binary (`make test` and `make test-fast` build it first).
    @Tag public static var binary: Tag
}
