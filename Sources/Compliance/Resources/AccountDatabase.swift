import Foundation
import HallmarkModel

/// /etc/passwd and /etc/group, read as glibc's nss_files reads them: the probes and parsers the
/// accounts, user and group resources share.
enum AccountDatabase {
    static let passwd = Probe(key: "passwd", script: "hm_cat /etc/passwd", execution: .inline)
    static let group = Probe(key: "group", script: "hm_cat /etc/group", execution: .inline)

    struct PasswdEntry {
        var name: String, password: String, uid: UInt32, gid: UInt32, home: String, shell: String
    }

    struct GroupEntry {
        var name: String, gid: UInt32, members: String
    }

    /// A uid or gid as glibc's nss_files reads it: `strtoul` in base 10 (leading blanks and a sign
    /// allowed, "00" is 0, "-1" wraps), saturated to 32 bits, ending at the field. nil where glibc
    /// rejects the field (and with it the line).
    static func glibcID(_ field: Substring) -> UInt32? {
        var digits = field.utf8[...]
        let blanks: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0B, 0x0C, 0x0D]
        while let first = digits.first, blanks.contains(first) { digits = digits.dropFirst() }
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        var value: UInt64 = 0
        for digit in digits {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(digit - UInt8(ascii: "0")))
            // strtoul returns ULONG_MAX on overflow, whatever the sign.
            if overflowA || overflowB { return UInt32.max }
            value = sum
        }
        if negative { value = 0 &- value }
        return value > UInt64(UInt32.max) ? UInt32.max : UInt32(value)
    }

    /// An id field of the entry `name`; a `+`/`-` (NIS compat) entry may leave it empty, which glibc reads as 0.
    static func accountID(_ field: Substring, name: Substring, what: String, line: Substring) throws(UnexpectedFact) -> UInt32 {
        if field.isEmpty, name.hasPrefix("+") || name.hasPrefix("-") { return 0 }
        guard let id = glibcID(field) else {
            throw UnexpectedFact(message: "\(what) '\(field.prefix(40))' is not a number (line: \(line.prefix(120)))")
        }
        return id
    }

    /// The lines of a passwd or group file that carry entries (blank lines and `#` comments are skipped, as glibc does).
    static func accountLines(_ text: String) -> [Substring] {
        text.split(separator: "\n").compactMap { line -> Substring? in
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            return trimmed.isEmpty || trimmed.hasPrefix("#") ? nil : trimmed
        }
    }

    static func passwdEntries(_ text: String) throws(UnexpectedFact) -> [PasswdEntry] {
        var entries: [PasswdEntry] = []
        for line in accountLines(text) {
            // The shell is the rest of the line, as glibc reads it.
            let fields = line.split(separator: ":", maxSplits: 6, omittingEmptySubsequences: false)
            guard fields.count == 7 else { throw UnexpectedFact(message: "unexpected line in /etc/passwd: \(line.prefix(120))") }
            entries.append(
                PasswdEntry(
                    name: String(fields[0]), password: String(fields[1]),
                    uid: try accountID(fields[2], name: fields[0], what: "uid", line: line),
                    gid: try accountID(fields[3], name: fields[0], what: "gid", line: line),
                    home: String(fields[5]), shell: String(fields[6])))
        }
        guard !entries.isEmpty else { throw UnexpectedFact(message: "/etc/passwd has no entries") }
        return entries
    }

    static func groupEntries(_ text: String) throws(UnexpectedFact) -> [GroupEntry] {
        var entries: [GroupEntry] = []
        for line in accountLines(text) {
            // glibc accepts a line that ends after the gid (no member list).
            let fields = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { throw UnexpectedFact(message: "unexpected line in /etc/group: \(line.prefix(120))") }
            entries.append(
                GroupEntry(
                    name: String(fields[0]), gid: try accountID(fields[2], name: fields[0], what: "gid", line: line),
                    members: fields.count > 3 ? String(fields[3]) : ""))
        }
        guard !entries.isEmpty else { throw UnexpectedFact(message: "/etc/group has no entries") }
        return entries
    }

    /// "1000 (alice, bob)" for every value held by more than one entry.
    static func duplicates(_ pairs: [(value: String, owner: String)]) -> [String] {
        var owners: [String: [String]] = [:], order: [String] = []
        for pair in pairs {
            if owners[pair.value] == nil { order.append(pair.value) }
            owners[pair.value, default: []].append(pair.owner)
        }
        return order.compactMap { value in
            guard let holders = owners[value], holders.count > 1 else { return nil }
            return "\(value) (\(holders.joined(separator: ", ")))"
        }
    }
}
