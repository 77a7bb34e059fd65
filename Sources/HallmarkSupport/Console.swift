import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Progress for long steps on stderr: a live elapsed-time line on a terminal, one plain line per
/// event otherwise (CI logs).
public final class Console: Sendable {
    public static let shared = Console(quiet: false)

    public let isTerminal: Bool
    public let quiet: Bool
    /// Names the job on every line when several run at once (`hallmark run --jobs`).
    public let label: String?

    public init(quiet: Bool, isTerminal: Bool = isatty(STDERR_FILENO) == 1, label: String? = nil) {
        self.quiet = quiet
        self.isTerminal = isTerminal
        self.label = label
    }

    /// The same console for one of several concurrent jobs: labelled lines, no live updates.
    public func forJob(_ label: String) -> Console {
        Console(quiet: quiet, isTerminal: false, label: label)
    }

    private var prefix: String { label.map { "hallmark[\($0)]" } ?? "hallmark" }

    /// A one-off line. Messages may quote the guest or the image, so they pass through
    /// `UntrustedText.forTerminal`.
    public func info(_ message: String) {
        guard !quiet else { return }
        emit("\(prefix): \(UntrustedText.forTerminal(message))\n")
    }

    /// A warning is printed even when quiet.
    public func warning(_ message: String) {
        emit("\(prefix): warning: \(UntrustedText.forTerminal(message))\n")
    }

    /// Runs a long step, reporting its start, a ticking elapsed time on a terminal, and its duration.
    /// Returns the step's result and how long it took.
    public func step<T: Sendable>(_ name: String, _ body: () async throws -> T) async throws -> (T, Duration) {
        let name = UntrustedText.forTerminal(name)
        let start = ContinuousClock.now
        if !quiet { emit(isTerminal ? "… \(name)" : "\(prefix): \(name)…\n") }
        let ticker: Task<Void, Never>? =
            (isTerminal && !quiet)
            ? Task { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    if Task.isCancelled { break }
                    emit("\r… \(name) (\(Int((ContinuousClock.now - start).seconds))s)")
                }
            } : nil
        defer { ticker?.cancel() }
        do {
            let value = try await body()
            ticker?.cancel()
            await ticker?.value
            let elapsed = ContinuousClock.now - start
            if !quiet { emit((isTerminal ? "\r\u{1B}[K" : "") + "\(prefix): \(name): done in \(elapsed.formattedSeconds)\n") }
            return (value, elapsed)
        } catch {
            ticker?.cancel()
            await ticker?.value
            if !quiet {
                emit(
                    (isTerminal ? "\r\u{1B}[K" : "")
                        + "\(prefix): \(name): failed after \((ContinuousClock.now - start).formattedSeconds)\n")
            }
            throw error
        }
    }

    private func emit(_ text: String) {
        writeStandardError(text)
    }
}

extension Duration {
    /// Seconds as a Double, for reports and arithmetic.
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }

    public var formattedSeconds: String { String(format: "%.1fs", seconds) }
}

/// Writes to stderr and ignores failures: with SIGPIPE ignored (see InterruptHandler), a closed
/// pipe must not stop Hallmark before it has stopped its VMs.
public func writeStandardError(_ text: String) {
    writeIgnoringErrors(Array(text.utf8), to: STDERR_FILENO)
}

/// Writes to stdout and ignores failures, like `writeStandardError`.
public func writeStandardOutput(_ bytes: [UInt8]) {
    writeIgnoringErrors(bytes, to: STDOUT_FILENO)
}

private func writeIgnoringErrors(_ bytes: [UInt8], to descriptor: Int32) {
    var offset = 0
    while offset < bytes.count {
        let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written > 0 { offset += written } else if written < 0 && errno == EINTR { continue } else { return }
    }
}
