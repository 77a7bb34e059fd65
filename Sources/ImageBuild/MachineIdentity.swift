import Foundation

/// What makes one machine of an image differ from another and from the next build: its
/// machine-id, D-Bus's copy of it, the SSH host keys and systemd's random seed. Each booted
/// machine makes its own; a shipped image carries none, so two builds of one tree are equal.
enum MachineIdentity {
    /// systemd treats an empty /etc/machine-id as a first boot and makes one.
    static let emptied = ["etc/machine-id"]
    static let removed = ["var/lib/dbus/machine-id", "var/lib/systemd/random-seed"]
    static let hostKeyPrefix = "ssh_host_"
    /// Debian's ssh.service checks its configuration (`sshd -t`) first, which fails without host
    /// keys: the drop-in makes missing keys first, as a cloud image's first boot does.
    static let sshDropIn = "etc/systemd/system/ssh.service.d/hallmark-host-keys.conf"
    static let sshDropInText = """
        # Written by Hallmark: the image ships without SSH host keys; each machine makes its own.
        [Service]
        ExecStartPre=
        ExecStartPre=/usr/bin/ssh-keygen -A
        ExecStartPre=/usr/sbin/sshd -t

        """

    /// Clears the tree's identity; every path goes through `TreeFiles`, as the tree is the steps'.
    static func clear(rootfs: String) throws {
        let tree = TreeFiles(root: rootfs)
        for path in emptied where try kind(path, in: tree) != nil { try tree.write("", to: path, mode: 0o444) }
        for path in removed where try kind(path, in: tree) == .file { try tree.remove(path) }
        guard try kind("etc/ssh", in: tree) == .directory else { return }
        for name in try tree.contentsOfDirectory("etc/ssh") where name.hasPrefix(hostKeyPrefix) {
            try tree.remove("etc/ssh/" + name)
        }
        guard try kind("usr/bin/ssh-keygen", in: tree) != nil, try kind("etc/systemd/system", in: tree) == .directory else { return }
        try tree.makeDirectory("etc/systemd/system/ssh.service.d")
        try tree.write(sshDropInText, to: sshDropIn)
    }

    /// The entry at `path`, or nil when it or a directory above it is missing or is not a
    /// directory (a link a step put there is not followed: what is behind it is not the image's).
    static func kind(_ path: String, in tree: TreeFiles) throws -> TreeFiles.Kind? {
        var prefix = ""
        for name in path.split(separator: "/").dropLast() {
            prefix += (prefix.isEmpty ? "" : "/") + name
            guard try tree.kind(prefix) == .directory else { return nil }
        }
        return try tree.kind(path)
    }
}
