import Foundation
import HallmarkSupport

/// A calendar day (`2027-06-30`), compared in UTC.
public struct CalendarDay: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        var components = DateComponents()
        (components.year, components.month, components.day) = (year, month, day)
        guard (1...12).contains(month), (1...31).contains(day), components.isValidDate(in: Self.calendar) else { return nil }
        (self.year, self.month, self.day) = (year, month, day)
    }

    /// The day `date` falls on in UTC.
    public init(_ date: Date) {
        let components = Self.calendar.dateComponents([.year, .month, .day], from: date)
        (year, month, day) = (components.year!, components.month!, components.day!)
    }

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }

    public static func < (lhs: CalendarDay, rhs: CalendarDay) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// An accepted exception for one control: why, until when, and whether the control still runs.
public struct Waiver: Sendable {
    public enum Mode: String, Sendable, CaseIterable {
        /// The control is not evaluated; its result is `waived`.
        case skip
        /// The control is evaluated and its outcome kept as evidence; its result is `waived`.
        case run
    }

    public var controlID: String
    public var justification: String
    /// The last day the waiver applies (inclusive, UTC). A waiver file must give it; nil only
    /// for waivers made in code, which then do not expire.
    public var expires: CalendarDay?
    public var mode: Mode
    public var location: SourceLocation
    /// Where `expires` is written, for the error about an expired waiver.
    public var expiresLocation: SourceLocation?

    public init(
        controlID: String, justification: String, expires: CalendarDay?, mode: Mode, location: SourceLocation,
        expiresLocation: SourceLocation? = nil
    ) {
        self.controlID = controlID
        self.justification = justification
        self.expires = expires
        self.mode = mode
        self.location = location
        self.expiresLocation = expiresLocation
    }

    /// True from the day after `expires`.
    public func isExpired(on date: Date) -> Bool {
        guard let expires else { return false }
        return CalendarDay(date) > expires
    }
}

/// A waiver file: `waivers: [{control, justification, expires, mode}]`.
public struct Waivers: Sendable {
    public var waivers: [Waiver]
    public var path: String
    public var digest: String

    public init(waivers: [Waiver], path: String, digest: String = "") {
        self.waivers = waivers
        self.path = path
        self.digest = digest
    }

    public static func load(path: String) throws -> Waivers {
        let input = try YAMLInput.load(path: path, context: "waiver")
        var waivers = try parse(input)
        waivers.digest = Digest.sha256((try? Data(contentsOf: URL(fileURLWithPath: path))) ?? Data())
        return waivers
    }

    public static func parse(_ text: String, file: String) throws -> Waivers {
        var waivers = try parse(try YAMLInput.parse(text, file: file, context: "waiver"))
        waivers.digest = Digest.sha256(Data(text.utf8))
        return waivers
    }

    static func parse(_ input: YAMLInput) throws -> Waivers {
        let root = try input.mapping(allowed: ["waivers"])
        let list = try root.required("waivers")
        var waivers: [Waiver] = []
        for item in try list.sequence() {
            let fields = try item.mapping(allowed: ["control", "justification", "expires", "mode"])
            let controlInput = try fields.required("control")
            let controlID = try controlInput.string()
            guard !controlID.isEmpty else { throw controlInput.error("control must name a control id") }
            if let earlier = waivers.first(where: { $0.controlID == controlID }) {
                throw controlInput.error("a second waiver for control '\(controlID)' (the first is at \(earlier.location))")
            }
            let justificationInput = try fields.required("justification")
            let justification = try justificationInput.string().trimmingCharacters(in: .whitespacesAndNewlines)
            guard !justification.isEmpty else { throw justificationInput.error("justification must say why the control is waived") }
            // A waiver without an end would accept the exception silently forever.
            guard let expiresInput = fields["expires"] else {
                throw item.error("waiver for control '\(controlID)' has no 'expires' date; every waiver must end (expires: YYYY-MM-DD)")
            }
            guard let expires = CalendarDay(try expiresInput.string()) else {
                throw expiresInput.error("expires must be a date YYYY-MM-DD, got '\(try expiresInput.string())'")
            }
            var mode = Waiver.Mode.run
            if let modeInput = fields["mode"] {
                guard let parsed = Waiver.Mode(rawValue: try modeInput.string()) else {
                    throw modeInput.error("mode must be skip (do not evaluate) or run (evaluate, keep the result as evidence)")
                }
                mode = parsed
            }
            waivers.append(
                Waiver(
                    controlID: controlID, justification: justification, expires: expires, mode: mode, location: controlInput.location,
                    expiresLocation: expiresInput.location))
        }
        return Waivers(waivers: waivers, path: input.file)
    }

    /// Rejects a waiver for a control that none of the selected policies has, at the waiver's file:line:column.
    public func validate(against controlIDs: some Sequence<String>) throws {
        let known = Set(controlIDs)
        if let unknown = waivers.first(where: { !known.contains($0.controlID) }) {
            throw HallmarkError.invalidInput(
                "waiver for unknown control '\(unknown.controlID)' (no selected policy has it)", at: unknown.location)
        }
    }

    /// The waivers whose last day is before `date`'s: each is a problem for `policy lint`, since
    /// it no longer waives anything and only reads as if it did.
    public func expiryProblems(on date: Date) -> [HallmarkError] {
        waivers.filter { $0.isExpired(on: date) }.map { waiver in
            HallmarkError.invalidInput(
                "waiver for control '\(waiver.controlID)' expired on \(waiver.expires.map(\.description) ?? "") and waives nothing; extend 'expires' (YYYY-MM-DD, today or later) or remove it",
                at: waiver.expiresLocation ?? waiver.location)
        }
    }

    public func waiver(for controlID: String) -> Waiver? {
        waivers.first { $0.controlID == controlID }
    }

    /// Ids of the controls that must not be evaluated at all: an unexpired `skip` waiver covers them.
    public func skipped(on date: Date) -> Set<String> {
        Set(waivers.filter { $0.mode == .skip && !$0.isExpired(on: date) }.map(\.controlID))
    }

    /// The controls still to collect facts for and evaluate (those without an unexpired `skip` waiver).
    public func controlsToEvaluate(_ controls: [Control], on date: Date) -> [Control] {
        let skipped = skipped(on: date)
        return controls.filter { !skipped.contains($0.id) }
    }
}
