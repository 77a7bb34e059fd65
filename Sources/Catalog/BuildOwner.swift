import Foundation

/// The process working on a build, told apart from a later process that reuses its id by the
/// start time the kernel gives it. A build whose owner is gone was interrupted (killed, crashed).
struct BuildOwner: Sendable, Equatable {
    var host: String
    var process: Int32
    /// Field 22 of `/proc/<pid>/stat`: clock ticks since boot when the process started.
    var started: String

    static var current: BuildOwner {
        let process = getpid()
        return BuildOwner(host: ProcessInfo.processInfo.hostName, process: process, started: startTime(of: process) ?? "")
    }

    static func startTime(of process: Int32) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // After the command name in parentheses: field 3 (state) onwards; the start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? String(fields[19]) : nil
    }

    /// Whether this process still runs, as far as this host can tell. An owner on another host is
    /// taken to be alive: only its own host can tell it is gone.
    var isAlive: Bool {
        guard host == ProcessInfo.processInfo.hostName else { return true }
        return Self.startTime(of: process) == started
    }
}
