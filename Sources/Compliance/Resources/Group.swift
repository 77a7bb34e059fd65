import Foundation
import HallmarkModel
import HallmarkSupport

/// A group in /etc/group: present or absent, its gid and members.
public struct GroupCheck: Resource {
    public var name: String
    public var exists: Bool
    public var gid: Matcher?
    /// Matched against the member list as written in /etc/group (comma-separated; "" for none).
    public var members: Matcher?

    public init(name: String, exists: Bool = true, gid: Matcher? = nil, members: Matcher? = nil) {
        self.name = name
        self.exists = exists
        self.gid = gid
        self.members = members
    }

    public static let kind = ResourceKind.group

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["name", "exists", "gid", "members"])
        let exists = try fields["exists"]?.bool() ?? true
        if !exists, let extra = ["gid", "members"].first(where: { fields[$0] != nil }) {
            throw fields[extra]!.error("'\(extra)' makes no sense with 'exists: false'")
        }
        self.init(
            name: try fields.required("name").string(), exists: exists, gid: try fields["gid"].map { try $0.matcher() },
            members: try fields["members"].map { try $0.matcher() })
    }

    public var probes: [Probe] { [AccountDatabase.group] }

    public func evaluate(_ facts: Facts) -> Outcome {
        let group = self, groups = facts.output(AccountDatabase.group)
        guard groups.exitCode == 0 else { return Outcome(.error, "cannot read /etc/group", excerpt(groups.stderr)) }
        let entries: [AccountDatabase.GroupEntry]
        do throws(UnexpectedFact) { entries = try AccountDatabase.groupEntries(groups.stdout) } catch {
            return Outcome(.error, error.message, "")
        }
        guard let entry = entries.first(where: { $0.name == group.name }) else {
            return group.exists
                ? Outcome(.fail, "group \(group.name) does not exist", "no \(group.name) in /etc/group")
                : Outcome(.pass, "group \(group.name) does not exist", "no \(group.name) in /etc/group")
        }
        let evidence = "\(group.name): gid \(entry.gid), members: \(entry.members.isEmpty ? "(none)" : entry.members)"
        guard group.exists else { return Outcome(.fail, "group \(group.name) exists but must not", evidence) }
        var problems: [String] = []
        if let matcher = group.gid, !match(matcher, String(entry.gid)) {
            problems.append("gid is '\(entry.gid)'; expected a value that \(matcher)")
        }
        if let matcher = group.members, !match(matcher, entry.members) {
            problems.append("members are '\(entry.members)'; expected a value that \(matcher)")
        }
        return problems.isEmpty
            ? Outcome(.pass, evidence, evidence) : Outcome(.fail, "group \(group.name): " + problems.joined(separator: "; "), evidence)
    }
}
