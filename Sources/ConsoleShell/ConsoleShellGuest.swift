/// How the guest side of the console shell starts, without changing the image: the test VM's kernel
/// command line makes /bin/sh the first process; it starts a loop in the background and then
/// executes the image's own init, so systemd (or whatever the image uses) boots as PID 1 as usual.
///
/// The loop finds the virtio-serial port by its name in /sys (no udev needed) and runs a root
/// shell on it. When Hallmark is not connected a read returns end-of-file at once, so the loop
/// waits a second before it opens the port again; Hallmark keeps its end connected while it may
/// need the shell, which keeps the guest's shell blocked in read, costing nothing.
///
/// Needs a kernel that honours `init=` and passes the words after `--` to it (Linux, and Debian's
/// initramfs-tools, do), and /bin/sh, mktemp and base64 in the image.
public enum ConsoleShellGuest {
    /// The virtio-serial port the shell reads; visible in the guest under /sys/class/virtio-ports.
    public static let portName = "org.hallmark.shell.0"

    /// `commandLine` with the shell launcher added; the image's own `init=` (default /sbin/init)
    /// becomes what the launcher executes. The words must not contain double quotes (the kernel
    /// keeps them as one word with them), which is why the loop is written without any.
    public static func kernelCommandLine(_ commandLine: String) -> String {
        var words = commandLine.split(separator: " ").map(String.init)
        var initPath = "/sbin/init"
        if let index = words.firstIndex(where: { $0.hasPrefix("init=") }) {
            initPath = String(words.remove(at: index).dropFirst("init=".count))
        }
        let loop =
            "while :; do for d in /sys/class/virtio-ports/*; do n=; read -r n <$d/name 2>/dev/null; "
            + "case $n in \(portName)) { sh <&3 >&3 2>&3 3>&-; } 3<>/dev/${d##*/};; esac; done; sleep 1; done"
        words.append("init=/bin/sh")
        words.append("--")
        words.append("-c")
        words.append("\"(\(loop)) </dev/null >/dev/null 2>&1 & exec \(initPath)\"")
        return words.joined(separator: " ")
    }
}
