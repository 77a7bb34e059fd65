import Foundation
import HallmarkModel
import HallmarkSupport

/// An account in /etc/passwd: present or absent, its uid, gid, shell and home.
public struct UserCheck: Resource {
    public var name: String
    public var exists: Bool
    public var uid: Matcher?
    public var gid: Matcher?
    public var shell: Matcher?
    public var home: Matcher?

    public init(name: String, exists: Bool = true, uid: Matcher? = nil, gid: Matcher? = nil, shell: Matcher? = nil, home: Matcher? = nil) {
        self.name = name
        self.exists = exists
        self.uid = uid
        self.gid = gid
        self.shell = shell
        self.home = home
    }

    public static let kind = ResourceKind.user

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["name", "exists", "uid", "gid", "shell", "home"])
        let exists = try fields["exists"]?.bool() ?? true
        if !exists, let extra = ["uid", "gid", "shell", "home"].first(where: { fields[$0] != nil }) {
            throw fields[extra]!.error("'\(extra)' makes no sense with 'exists: false'")
        }
        self.init(
            name: try fields.required("name").string(), exists: exists, uid: try fields["uid"].map { try $0.matcher() },
            gid: try fields["gid"].map { try $0.matcher() }, shell: try fields["shell"].map { try $0.matcher() },
            home: try fields["home"].map { try $0.matcher() })
    }

    public var probes: [Probe] { [AccountDatabase.passwd] }

    public func evaluate(_ facts: Facts) -> Outcome {
        let user = self, passwd = facts.output(AccountDatabase.passwd)
        guard passwd.exitCode == 0 else { return Outcome(.error, "cannot read /etc/passwd", excerpt(passwd.stderr)) }
        let entries: [AccountDatabase.PasswdEntry]
        do throws(UnexpectedFact) { entries = try AccountDatabase.passwdEntries(passwd.stdout) } catch {
            return Outcome(.error, error.message, "")
        }
        guard let entry = entries.first(where: { $0.name == user.name }) else {
            return user.exists
                ? Outcome(.fail, "user \(user.name) does not exist", "no \(user.name) in /etc/passwd")
                : Outcome(.pass, "user \(user.name) does not exist", "no \(user.name) in /etc/passwd")
        }
        let evidence = "\(user.name): uid \(entry.uid), gid \(entry.gid), home \(entry.home), shell \(entry.shell)"
        guard user.exists else { return Outcome(.fail, "user \(user.name) exists but must not", evidence) }
        var problems: [String] = []
        let fields: [(String, Matcher?, String)] = [
            ("uid", user.uid, String(entry.uid)), ("gid", user.gid, String(entry.gid)),
            ("shell", user.shell, entry.shell), ("home", user.home, entry.home),
        ]
        for (label, matcher, value) in fields {
            if let matcher, !match(matcher, value) { problems.append("\(label) is '\(value)'; expected a value that \(matcher)") }
        }
        return problems.isEmpty
            ? Outcome(.pass, evidence, evidence) : Outcome(.fail, "user \(user.name): " + problems.joined(separator: "; "), evidence)
    }
}
