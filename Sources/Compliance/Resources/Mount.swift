import Foundation
import HallmarkModel
import HallmarkSupport

/// A mount point: a separate mount, with the options it must have.
public struct MountCheck: Resource {
    /// The mount point; it must be a separate mount.
    public var path: String
    /// Options that must all be present (`nodev`, `nosuid`, `noexec`…).
    public var options: [String]

    public init(path: String, options: [String] = []) {
        self.path = path
        self.options = options
    }

    public static let kind = ResourceKind.mount

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["path", "options"])
        self.init(path: try fields.required("path").absoluteGuestPath(), options: try fields["options"]?.oneOrMoreStrings() ?? [])
    }

    public var probes: [Probe] { [Self.mounts] }

    static let mounts = Probe(key: "mounts", script: "hm_cat /proc/self/mounts", runtime: true, execution: .inline)

    /// Undoes the octal escapes of /proc/self/mounts (`\040` for a space).
    static func unescapeMountField(_ field: Substring) -> String {
        guard field.contains("\\") else { return String(field) }
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.first {
            if byte == UInt8(ascii: "\\"), utf8.count >= 4,
                let value = UInt8(String(decoding: utf8.dropFirst().prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(4)
            } else {
                bytes.append(byte)
                utf8 = utf8.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let mount = self, output = facts.output(Self.mounts)
        guard output.exitCode == 0 else { return Outcome(.error, "cannot read /proc/self/mounts", excerpt(output.stderr)) }
        let target = mount.path.count > 1 && mount.path.hasSuffix("/") ? String(mount.path.dropLast()) : mount.path
        let entries = lines(output.stdout).compactMap { line -> (device: String, point: String, type: String, options: [String])? in
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { return nil }
            return (
                Self.unescapeMountField(fields[0]), Self.unescapeMountField(fields[1]), String(fields[2]),
                fields[3].split(separator: ",").map(String.init)
            )
        }
        guard !entries.isEmpty else { return Outcome(.error, "/proc/self/mounts lists no mount", excerpt(output.stdout + output.stderr)) }
        guard let entry = entries.last(where: { $0.point == target }) else {
            return Outcome(.fail, "\(target) is not a separate mount", "no entry for \(target) in /proc/self/mounts")
        }
        let evidence = "\(entry.device) on \(entry.point) type \(entry.type) (\(entry.options.joined(separator: ",")))"
        let missing = mount.options.filter { !entry.options.contains($0) }
        return missing.isEmpty
            ? Outcome(
                .pass,
                mount.options.isEmpty
                    ? "\(target) is a separate mount" : "\(target) is mounted with \(mount.options.joined(separator: ","))", evidence)
            : Outcome(.fail, "\(target) is mounted without \(missing.joined(separator: ", "))", evidence)
    }
}
