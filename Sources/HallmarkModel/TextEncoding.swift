import Foundation

/// The text encodings TOE's file actions name (`encoding: UTF-16`), case-insensitive. As in TOE,
/// utf16 and utf32 without an ending are little-endian.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "UTF-8"
    case utf16LE = "UTF-16LE"
    case utf16BE = "UTF-16BE"
    case utf32LE = "UTF-32LE"
    case utf32BE = "UTF-32BE"

    /// The encoding a TOE name means, or nil for a name TOE does not accept.
    public init?(toeName: String) {
        switch toeName.lowercased() {
        case "utf8", "utf-8": self = .utf8
        case "utf16", "utf-16", "utf16-le", "utf-16-le": self = .utf16LE
        case "utf16-be", "utf-16-be": self = .utf16BE
        case "utf32", "utf-32", "utf32-le", "utf-32-le": self = .utf32LE
        case "utf32-be", "utf-32-be": self = .utf32BE
        default: return nil
        }
    }

    /// What an error says is accepted.
    public static let toeNames =
        "utf8, utf-8, utf16, utf-16, utf16-LE, utf-16-LE, utf16-BE, utf-16-BE, utf32, utf-32, utf32-LE, utf-32-LE, utf32-BE, utf-32-BE (any case)"

    /// The name iconv knows it by: an explicit byte order, so iconv writes no byte order mark.
    public var iconvName: String { rawValue }
}
