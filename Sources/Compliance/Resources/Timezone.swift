import Foundation
import HallmarkModel
import HallmarkSupport

/// The system time zone: the zone /etc/localtime points to (what the C library reads), or the one
/// /etc/timezone names when /etc/localtime is a copy; where both name one, they must agree.
public struct TimezoneCheck: Resource {
    public var value: Matcher

    public init(value: Matcher) {
        self.value = value
    }

    public static let kind = ResourceKind.timezone

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["value"])
        self.init(value: try fields.required("value").matcher())
    }

    public var probes: [Probe] { [Self.probe] }

    /// Reads files only, so it runs against the disk artifact or a root filesystem too: the link's
    /// own text (inside an image root it must not be resolved on the host) and the first line of
    /// /etc/timezone.
    static let probe = Probe(
        key: "timezone",
        script: """
            if [ -L /etc/localtime ]; then hm_t=$(readlink /etc/localtime) || exit; printf 'localtime=%s\\n' "$hm_t"
            elif [ -e /etc/localtime ]; then echo 'localtime=file'
            else echo 'localtime=absent'; fi
            if [ -e /etc/timezone ]; then
              [ -r /etc/timezone ] || { echo 'cannot read /etc/timezone' >&2; exit 1; }
              hm_z=; IFS= read -r hm_z </etc/timezone; printf 'timezone=%s\\n' "$hm_z"
            fi
            """, execution: .subshell(cost: 1))

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read the time zone (exit \(output.exitCode))", excerpt(output.stderr))
        }
        var fields: [String: String] = [:]
        for line in output.stdout.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2, ["localtime", "timezone"].contains(pair[0]), fields[pair[0]] == nil else {
                return Outcome(.error, "unexpected time zone probe output", excerpt(output.stdout))
            }
            fields[pair[0]] = pair[1]
        }
        guard let localtime = fields["localtime"] else {
            return Outcome(.error, "the probe did not report /etc/localtime", excerpt(output.stdout))
        }
        let named = fields["timezone"].map { String(trimmed(Substring($0), \.isWhitespace)) }.flatMap { $0.isEmpty ? nil : $0 }
        let evidence = "/etc/localtime: \(localtime); /etc/timezone: \(named ?? "(none)")"
        let zone: String
        switch localtime {
        case "absent":
            // Without /etc/localtime the C library uses UTC.
            zone = "UTC"
        case "file":
            guard let named else {
                return Outcome(.error, "cannot tell the time zone: /etc/localtime is a copy and /etc/timezone names none", evidence)
            }
            zone = named
        default:
            guard let marker = localtime.range(of: "zoneinfo/"), marker.upperBound < localtime.endIndex else {
                return Outcome(.error, "/etc/localtime points to \(localtime), not into a zoneinfo directory", evidence)
            }
            zone = String(localtime[marker.upperBound...])
            if let named, named != zone {
                return Outcome(.fail, "/etc/localtime points to \(zone) but /etc/timezone says \(named)", evidence)
            }
        }
        return match(value, zone)
            ? Outcome(.pass, "the time zone is \(zone)", evidence)
            : Outcome(.fail, "the time zone is \(zone); expected a value that \(value)", evidence)
    }
}
