import Foundation

/// Text and number formatting for the XML written.
enum XMLText {
    /// Removes every character XML 1.0 does not allow:
    /// `Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
    /// Lone surrogates cannot occur in a Swift `String` (they are replaced on decoding).
    static func sanitized(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !isAllowed($0) }) else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.lazy.filter(isAllowed))
        return String(scalars)
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: true
        case 0x20...0xD7FF: true
        case 0xE000...0xFFFD: true
        case 0x10000...0x10FFFF: true
        default: false
        }
    }

    /// Sanitised and trimmed; `fallback` when nothing is left. For `xs:token` attributes
    /// with `minLength 1` in the Ant schema.
    static func token(_ text: String, fallback: String) -> String {
        let cleaned = sanitized(text).trimmingCharacters(in: .whitespacesAndNewlines)
        return cleaned.isEmpty ? fallback : cleaned
    }

    /// Seconds with exactly three decimals and no exponent; matches both `xs:decimal` and
    /// the Jenkins `SUREFIRE_TIME` pattern. Negative and non-finite values become 0.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite, value > 0 else { return "0.000" }
        // 1e12 s is ~31,700 years: keeps the arithmetic within Int64.
        let millis = Int64((min(value, 1e12) * 1000).rounded())
        return "\(millis / 1000)." + padded(Int(millis % 1000), width: 3)
    }

    /// UTC, `yyyy-MM-dd'T'HH:mm:ss`, no offset, proleptic Gregorian calendar, year
    /// clamped to 0001…9999 as `xs:dateTime` with a four-digit year requires.
    static func timestamp(_ date: Date) -> String {
        let minimum: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
        let maximum: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z
        let interval = date.timeIntervalSince1970
        let seconds: Int64
        if interval.isNaN {
            seconds = 0
        } else {
            seconds = Int64(max(Double(minimum), min(Double(maximum), interval.rounded(.down))))
        }
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        return padded(Int(year), width: 4) + "-" + padded(month, width: 2) + "-" + padded(day, width: 2)
            + "T" + padded(Int(secondOfDay / 3600), width: 2)
            + ":" + padded(Int(secondOfDay / 60 % 60), width: 2)
            + ":" + padded(Int(secondOfDay % 60), width: 2)
    }

    private static func floorDivide(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        let q = a / b, r = a % b
        return r < 0 ? (q - 1, r + b) : (q, r)
    }

    /// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
    private static func civil(fromDays days: Int64) -> (Int64, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func padded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
