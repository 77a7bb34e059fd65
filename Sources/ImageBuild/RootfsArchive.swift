import Foundation
import HallmarkSupport

/// The rootfs as a reproducible tar: members sorted by name, every timestamp clamped to
/// SOURCE_DATE_EPOCH, no atime or ctime, numeric owners only, and pax header names without the
/// process id GNU tar puts in them by default. The same tree gives the same bytes.
public enum RootfsArchive {
    /// What the OCI image leaves out: the kernel, initrd and modules the VM boots with (a container
    /// runs on its host's kernel), and the fstab that mounts the VM's disk as root.
    public static let vmOnlyPaths = [
        "./boot/vmlinuz-*", "./boot/initrd.img-*", "./boot/System.map-*", "./boot/config-*",
        "./vmlinuz", "./vmlinuz.old", "./initrd.img", "./initrd.img.old",
        "./usr/lib/modules/*", "./lib/modules/*", "./etc/fstab",
    ]

    /// `tar` writing `tree` to `archive`, leaving out `excluding` (patterns anchored at `./`).
    /// tar does not follow the tree's symbolic links, so a link a step planted is archived as a link.
    public static func command(tree: String, archive: String, sourceDateEpoch: Int, excluding: [String] = []) -> HostCommand {
        var arguments = [
            "--create", "--file", archive, "--directory", tree,
            "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
            "--sort=name", "--mtime=@\(sourceDateEpoch)", "--clamp-mtime", "--numeric-owner",
            "--xattrs", "--xattrs-include=*", "--anchored",
        ]
        arguments += excluding.map { "--exclude=\($0)" }
        arguments.append(".")
        return HostCommand("tar", arguments, environment: ["LC_ALL": "C"])
    }
}
