import Foundation
import HallmarkModel
import HallmarkSupport

/// A TCP or UDP port: something listens on it, or nothing does.
public struct PortCheck: Resource {
    public enum TransportProtocol: String, Sendable, CaseIterable { case tcp, udp }
    public var port: Int
    public var `protocol`: TransportProtocol
    public var listening: Bool
    /// With `listening: false`: a socket bound to a loopback address (127.0.0.0/8, ::1, or
    /// IPv4-mapped 127.x) does not count, as for an MTA that only delivers local mail.
    public var exceptLoopback: Bool

    public init(port: Int, protocol: TransportProtocol = .tcp, listening: Bool, exceptLoopback: Bool = false) {
        self.port = port
        self.protocol = `protocol`
        self.listening = listening
        self.exceptLoopback = exceptLoopback
    }

    public static let kind = ResourceKind.port

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["port", "protocol", "listening", "except_loopback"])
        let portInput = try fields.required("port")
        let port = try portInput.int()
        guard (1...65535).contains(port) else { throw portInput.error("port must be 1-65535, got \(port)") }
        var proto = PortCheck.TransportProtocol.tcp
        if let protocolInput = fields["protocol"] {
            guard let parsed = PortCheck.TransportProtocol(rawValue: try protocolInput.string().lowercased()) else {
                throw protocolInput.error("protocol must be tcp or udp")
            }
            proto = parsed
        }
        let listening = try fields.required("listening").bool()
        let exceptLoopback = try fields["except_loopback"]?.bool() ?? false
        if exceptLoopback, listening, let node = fields["except_loopback"] {
            throw node.error("except_loopback applies to listening: false only")
        }
        self.init(port: port, protocol: proto, listening: listening, exceptLoopback: exceptLoopback)
    }

    public var probes: [Probe] { [Self.sockets] }

    /// Every socket table, with a heading each; a table the kernel lacks (IPv6 disabled) is
    /// named absent, and one that cannot be read fails the probe.
    static let sockets = Probe(
        key: "sockets",
        script: """
            hm_sr=0; for hm_f in tcp tcp6 udp udp6; do
              if [ -e /proc/net/$hm_f ]; then echo "== $hm_f"; hm_cat /proc/net/$hm_f || hm_sr=1; else echo "== $hm_f absent"; fi
            done; [ "$hm_sr" = 0 ]
            """, runtime: true, execution: .inline)

    struct Socket: Equatable {
        var proto: String, address: String, port: Int
    }

    /// What the sockets probe saw: the listening sockets of every table it read, and which tables
    /// the kernel does not have (`== tcp6 absent`: IPv6 is disabled).
    struct SocketTables {
        var listening: [Socket] = []
        var read: Set<String> = []
        var absent: Set<String> = []
    }

    static let socketTables: Set<String> = ["tcp", "tcp6", "udp", "udp6"]

    /// Listening sockets from /proc/net/{tcp,tcp6,udp,udp6}: TCP in LISTEN (0A), UDP bound and
    /// unconnected (07). A row that cannot be read could be the listener, so it is an error.
    static func socketTables(_ text: String) throws(UnexpectedFact) -> SocketTables {
        var tables = SocketTables()
        var table: String?
        var sawHeading = false
        for line in text.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            if line.hasPrefix("== ") {
                let words = line.dropFirst(3).split(separator: " ")
                guard let name = words.first.map(String.init), socketTables.contains(name), words.count <= 2,
                    words.count == 1 || words[1] == "absent", !tables.read.contains(name), !tables.absent.contains(name)
                else {
                    throw UnexpectedFact(message: "unexpected table heading '\(excerpt(String(line), limit: 80))'")
                }
                if words.count == 2 { tables.absent.insert(name); table = nil } else { tables.read.insert(name); table = name }
                sawHeading = false
                continue
            }
            guard let current = table else { throw UnexpectedFact(message: "unexpected line '\(excerpt(String(line), limit: 120))'") }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if !sawHeading, fields.first == "sl" { sawHeading = true; continue }
            guard fields.count >= 4, fields[0].hasSuffix(":"), fields[0].dropLast().allSatisfy(\.isNumber),
                let colon = fields[1].lastIndex(of: ":"),
                let address = decodeAddress(fields[1][..<colon]),
                let port = hexNumber(fields[1][fields[1].index(after: colon)...], digits: 4),
                let state = hexNumber(fields[3], digits: 2)
            else {
                throw UnexpectedFact(message: "unexpected /proc/net/\(current) row '\(excerpt(String(line), limit: 120))'")
            }
            let wanted = current.hasPrefix("tcp") ? 0x0A : 0x07
            if state == wanted { tables.listening.append(Socket(proto: current, address: address, port: port)) }
        }
        return tables
    }

    /// A field of exactly `digits` hexadecimal digits.
    static func hexNumber(_ text: Substring, digits: Int) -> Int? {
        guard text.count == digits, text.allSatisfy(\.isHexDigit) else { return nil }
        return Int(text, radix: 16)
    }

    /// /proc/net addresses are 32-bit words in host (little-endian) byte order: 8 hex digits for
    /// IPv4, 32 for IPv6; anything else is nil.
    static func decodeAddress(_ hex: Substring) -> String? {
        guard hex.count == 8 || hex.count == 32, hex.allSatisfy(\.isHexDigit) else { return nil }
        let digits = Array(hex.utf8)
        var bytes: [UInt8] = []
        for offset in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[offset..<(offset + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        var ordered: [UInt8] = []
        for word in stride(from: 0, to: bytes.count, by: 4) { ordered += bytes[word..<(word + 4)].reversed() }
        if ordered.count == 4 { return ordered.map(String.init).joined(separator: ".") }
        if ordered.allSatisfy({ $0 == 0 }) { return "[::]" }
        let groups = stride(from: 0, to: ordered.count, by: 2).map { String(Int(ordered[$0]) << 8 | Int(ordered[$0 + 1]), radix: 16) }
        return "[" + groups.joined(separator: ":") + "]"
    }

    /// An address as `decodeAddress` writes it.
    static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "[0:0:0:0:0:0:0:1]" || address.hasPrefix("[0:0:0:0:0:ffff:7f")
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let check = self, output = facts.output(Self.sockets)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read /proc/net (exit \(output.exitCode))", excerpt(output.stderr))
        }
        let tables: SocketTables
        do throws(UnexpectedFact) { tables = try Self.socketTables(output.stdout) } catch {
            return Outcome(.error, "cannot read /proc/net: \(error.message)", "")
        }
        // The IPv4 table always exists; the IPv6 one may be absent (IPv6 disabled), never unread.
        let proto = check.protocol.rawValue
        let unread = [proto, proto + "6"].filter { !tables.read.contains($0) && !($0.hasSuffix("6") && tables.absent.contains($0)) }
        guard unread.isEmpty else {
            return Outcome(.error, "/proc/net/\(unread.joined(separator: ", /proc/net/")) was not read", excerpt(output.stderr))
        }
        let all = tables.listening
        let matching = all.filter {
            $0.proto.hasPrefix(proto) && $0.port == check.port && !(check.exceptLoopback && Self.isLoopback($0.address))
        }
        let listening = !matching.isEmpty
        let summary = all.filter { $0.proto.hasPrefix(proto) }.map { "\($0.proto) \($0.address):\($0.port)" }
        let evidence = "listening \(proto): " + (summary.isEmpty ? "none" : Array(Set(summary)).sorted().joined(separator: ", "))
        let label = "\(proto)/\(check.port)"
        switch (check.listening, listening) {
        case (true, true), (false, false):
            let nothing = check.exceptLoopback ? "nothing but loopback listens on \(label)" : "nothing listens on \(label)"
            return Outcome(.pass, listening ? "\(label) is listening" : nothing, evidence)
        case (true, false):
            return Outcome(.fail, "nothing listens on \(label)", evidence)
        case (false, true):
            return Outcome(.fail, "\(label) is listening on \(matching.map(\.address).joined(separator: ", ")) but must not be", evidence)
        }
    }
}
