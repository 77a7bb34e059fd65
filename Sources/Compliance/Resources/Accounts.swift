import Foundation
import HallmarkModel
import HallmarkSupport

/// The account databases as a whole: empty passwords, who holds uid and gid 0, uniqueness, shadowing.
public struct AccountsCheck: Resource {
    public var noEmptyPasswords: Bool
    /// The only accounts allowed to have uid 0.
    public var uidZero: [String]?
    /// The only accounts allowed to have gid 0 as their primary group.
    public var gidZero: [String]?
    public var uniqueUIDs: Bool
    public var uniqueGIDs: Bool
    public var uniqueUserNames: Bool
    public var uniqueGroupNames: Bool
    /// Every /etc/passwd entry has `x` as its password (the hash is in /etc/shadow).
    public var shadowedPasswords: Bool
    /// Every primary gid in /etc/passwd exists in /etc/group.
    public var groupsExist: Bool

    public init(
        noEmptyPasswords: Bool = false, uidZero: [String]? = nil, gidZero: [String]? = nil,
        uniqueUIDs: Bool = false, uniqueGIDs: Bool = false, uniqueUserNames: Bool = false, uniqueGroupNames: Bool = false,
        shadowedPasswords: Bool = false, groupsExist: Bool = false
    ) {
        self.noEmptyPasswords = noEmptyPasswords
        self.uidZero = uidZero
        self.gidZero = gidZero
        self.uniqueUIDs = uniqueUIDs
        self.uniqueGIDs = uniqueGIDs
        self.uniqueUserNames = uniqueUserNames
        self.uniqueGroupNames = uniqueGroupNames
        self.shadowedPasswords = shadowedPasswords
        self.groupsExist = groupsExist
    }

    /// Whether evaluation reads /etc/passwd and /etc/group.
    public var readsPasswd: Bool { uidZero != nil || gidZero != nil || uniqueUIDs || uniqueUserNames || shadowedPasswords || groupsExist }
    public var readsGroup: Bool { uniqueGIDs || uniqueGroupNames || groupsExist }

    public static let kind = ResourceKind.accounts

    public init(yaml body: YAMLInput) throws {
        let allowed = [
            "no_empty_passwords", "uid_zero", "gid_zero", "unique_uids", "unique_gids", "unique_user_names",
            "unique_group_names", "shadowed_passwords", "groups_exist",
        ]
        let fields = try body.mapping(allowed: allowed)
        guard !fields.keys.isEmpty else { throw body.error("accounts check needs at least one of: \(allowed.joined(separator: ", "))") }
        for key in fields.keys where !["uid_zero", "gid_zero"].contains(key) {
            guard try fields[key]!.bool() else { throw fields[key]!.error("'\(key)' can only be true (omit it to not check)") }
        }
        self.init(
            noEmptyPasswords: fields["no_empty_passwords"] != nil, uidZero: try fields["uid_zero"]?.strings(),
            gidZero: try fields["gid_zero"]?.strings(), uniqueUIDs: fields["unique_uids"] != nil, uniqueGIDs: fields["unique_gids"] != nil,
            uniqueUserNames: fields["unique_user_names"] != nil, uniqueGroupNames: fields["unique_group_names"] != nil,
            shadowedPasswords: fields["shadowed_passwords"] != nil, groupsExist: fields["groups_exist"] != nil)
    }

    public var probes: [Probe] {
        var probes: [Probe] = []
        if readsPasswd { probes.append(AccountDatabase.passwd) }
        if readsGroup { probes.append(AccountDatabase.group) }
        if noEmptyPasswords { probes.append(Self.emptyPasswords) }
        return probes
    }

    static let emptyPasswords = Probe(
        key: "shadow-empty-passwords", script: "awk -F: '$2 == \"\" { print $1 }' /etc/shadow",
        execution: .subshell(cost: 1))

    public func evaluate(_ facts: Facts) -> Outcome {
        let accounts = self
        var problems: [String] = [], evidence: [String] = []
        var users: [AccountDatabase.PasswdEntry] = [], groups: [AccountDatabase.GroupEntry] = []
        do throws(UnexpectedFact) {
            if accounts.readsPasswd {
                let passwd = facts.output(AccountDatabase.passwd)
                guard passwd.exitCode == 0 else { return Outcome(.error, "cannot read /etc/passwd", excerpt(passwd.stderr)) }
                users = try AccountDatabase.passwdEntries(passwd.stdout)
            }
            if accounts.readsGroup {
                let group = facts.output(AccountDatabase.group)
                guard group.exitCode == 0 else { return Outcome(.error, "cannot read /etc/group", excerpt(group.stderr)) }
                groups = try AccountDatabase.groupEntries(group.stdout)
            }
        } catch {
            return Outcome(.error, error.message, "")
        }
        if accounts.noEmptyPasswords {
            let emptyPasswords = facts.output(Self.emptyPasswords)
            guard emptyPasswords.exitCode == 0 else { return Outcome(.error, "cannot read /etc/shadow", excerpt(emptyPasswords.stderr)) }
            let names = lines(emptyPasswords.stdout)
            if !names.isEmpty { problems.append("accounts with an empty password: \(names.joined(separator: ", "))") }
            evidence.append("empty password fields: \(names.isEmpty ? "none" : names.joined(separator: ", "))")
        }
        if let allowed = accounts.uidZero {
            let uidZero = users.filter { $0.uid == 0 }.map(\.name)
            let extra = uidZero.filter { !allowed.contains($0) }
            if !extra.isEmpty { problems.append("uid 0 is also held by: \(extra.joined(separator: ", "))") }
            evidence.append("uid 0: \(uidZero.joined(separator: ", "))")
        }
        if let allowed = accounts.gidZero {
            let gidZero = users.filter { $0.gid == 0 }.map(\.name)
            let extra = gidZero.filter { !allowed.contains($0) }
            if !extra.isEmpty { problems.append("primary gid 0 is also held by: \(extra.joined(separator: ", "))") }
            evidence.append("primary gid 0: \(gidZero.joined(separator: ", "))")
        }
        let uniqueness: [(Bool, String, [(value: String, owner: String)])] = [
            (accounts.uniqueUIDs, "duplicate uids", users.map { (String($0.uid), $0.name) }),
            (accounts.uniqueUserNames, "duplicate user names", users.map { ($0.name, "uid \($0.uid)") }),
            (accounts.uniqueGIDs, "duplicate gids", groups.map { (String($0.gid), $0.name) }),
            (accounts.uniqueGroupNames, "duplicate group names", groups.map { ($0.name, "gid \($0.gid)") }),
        ]
        for (wanted, label, pairs) in uniqueness where wanted {
            let found = AccountDatabase.duplicates(pairs)
            if !found.isEmpty { problems.append("\(label): \(found.joined(separator: "; "))") }
            evidence.append("\(label): \(found.isEmpty ? "none" : found.joined(separator: "; "))")
        }
        if accounts.shadowedPasswords {
            let unshadowed = users.filter { $0.password != "x" }.map(\.name)
            if !unshadowed.isEmpty { problems.append("passwords not in /etc/shadow: \(unshadowed.joined(separator: ", "))") }
            evidence.append("unshadowed: \(unshadowed.isEmpty ? "none" : unshadowed.joined(separator: ", "))")
        }
        if accounts.groupsExist {
            let gids = Set(groups.map(\.gid))
            let orphans = users.filter { !gids.contains($0.gid) }.map { "\($0.name) (gid \($0.gid))" }
            if !orphans.isEmpty { problems.append("primary groups missing from /etc/group: \(orphans.joined(separator: ", "))") }
            evidence.append("missing primary groups: \(orphans.isEmpty ? "none" : orphans.joined(separator: ", "))")
        }
        let summary = evidence.joined(separator: "; ")
        return problems.isEmpty ? Outcome(.pass, summary, summary) : Outcome(.fail, problems.joined(separator: "; "), summary)
    }
}
