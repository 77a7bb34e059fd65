import Foundation
import HallmarkModel
import HallmarkSupport

/// What an SSH login session gets from the system's startup files: the shell timeout (TMOUT) and
/// the umask. Read in the order they take effect: sshd's PAM session stack (pam_umask, with
/// `umask=` or login.defs' UMASK), then a login shell's `/etc/profile`, `/etc/bash.bashrc` (which
/// Debian's profile sources first) and `/etc/profile.d/*.sh`. login.defs alone sets nothing for
/// an SSH session: only pam_umask reads it there.
public struct ShellSessionCheck: Resource {
    public enum Requirement: Sendable, Equatable {
        /// TMOUT is a positive number matching, readonly and exported.
        case timeout(Matcher)
        /// The session umask masks at least these bits.
        case umask(UInt16)
    }

    public var requirement: Requirement

    public init(_ requirement: Requirement) {
        self.requirement = requirement
    }

    public static let kind = ResourceKind.shellSession

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["tmout", "umask"])
        switch (fields["tmout"], fields["umask"]) {
        case (let tmout?, nil): self.init(.timeout(try tmout.matcher()))
        case (nil, let umask?):
            let text = try umask.string()
            guard let bits = Self.octal(Substring(text)) else {
                throw umask.error("umask must be octal such as \"027\", got '\(text)'")
            }
            self.init(.umask(bits))
        default: throw body.error("a shell_session check needs exactly one of tmout or umask")
        }
    }

    public var probes: [Probe] { [Self.probe] }

    static let profiles = ["/etc/profile", "/etc/bash.bashrc", "/etc/profile.d/*.sh"]
    static let probe = Probe(
        key: "shell-session",
        script: ConfigFiles.script(["/etc/pam.d/sshd", "/etc/pam.d/common-session", "/etc/login.defs"] + profiles),
        execution: .subshell(cost: 1))

    static func octal(_ text: Substring) -> UInt16? {
        guard (1...4).contains(text.count), let bits = UInt16(text, radix: 8), bits <= 0o777 else { return nil }
        return bits
    }

    static func format(_ bits: UInt16) -> String {
        let digits = String(bits, radix: 8)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// Simple commands of a shell file: comments dropped, split at `;`, `&&`, `||`, leading
    /// keywords (`then`, `do`, `else`, `{`) removed; conditions are not followed, as CIS's audit
    /// does not follow them either.
    static func commands(_ file: ConfigFiles.File) -> [(words: [Substring], line: Int)] {
        var result: [(words: [Substring], line: Int)] = []
        for (index, raw) in file.lines.enumerated() {
            var text = raw
            if let hash = text.indices.first(where: { text[$0] == "#" && ($0 == text.startIndex || isBlank(text[text.index(before: $0)])) })
            {
                text = text[..<hash]
            }
            for part in text.replacingOccurrences(of: "&&", with: ";").replacingOccurrences(of: "||", with: ";").split(separator: ";") {
                var words = part.split(whereSeparator: isBlank).map { Substring($0) }
                while let first = words.first, ["then", "do", "else", "{", "(", "!"].contains(first) { words.removeFirst() }
                if !words.isEmpty { result.append((words, index + 1)) }
            }
        }
        return result
    }

    static func unquoted(_ text: Substring) -> Substring {
        text.filter { $0 != "\"" && $0 != "'" }[...]
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let output = facts.output(Self.probe)
        guard output.exitCode == 0 else {
            return Outcome(.error, "cannot read the session startup files (exit \(output.exitCode))", excerpt(output.stderr))
        }
        guard let config = ConfigFiles(output.stdout) else {
            return Outcome(.error, "unexpected shell session probe output", excerpt(output.stdout))
        }
        let shellFiles = config.files.filter { file in
            file.path == "/etc/profile" || file.path == "/etc/bash.bashrc" || file.path.hasPrefix("/etc/profile.d/")
        }
        // The glob lists profile.d in name order, after profile and bash.bashrc: the order they run.
        switch requirement {
        case .timeout(let matcher): return timeout(matcher, shellFiles)
        case .umask(let required): return umask(required, config, shellFiles)
        }
    }

    func timeout(_ matcher: Matcher, _ files: [ConfigFiles.File]) -> Outcome {
        var value: Substring?, source = "", readonly = false, exported = false
        for file in files {
            for command in Self.commands(file) {
                var words = command.words[...]
                var marksReadonly = false, marksExported = false
                switch words.first {
                case "readonly": marksReadonly = true
                case "export": marksExported = true
                case "declare", "typeset", "local": break
                default: words = command.words[...].prefix(1)
                }
                if marksReadonly || marksExported || ["declare", "typeset", "local"].contains(words.first ?? "") {
                    words = words.dropFirst()
                    while let option = words.first, option.hasPrefix("-") {
                        if option.contains("r") { marksReadonly = true }
                        if option.contains("x") { marksExported = true }
                        words = words.dropFirst()
                    }
                }
                for word in words {
                    let name = word.prefix { $0 != "=" }
                    guard name == "TMOUT" else { continue }
                    if word.count > name.count, !readonly {
                        value = Self.unquoted(word.dropFirst(name.count + 1))
                        source = "\(file.path):\(command.line)"
                    }
                    readonly = readonly || marksReadonly
                    exported = exported || marksExported
                }
            }
        }
        guard let value else { return Outcome(.fail, "TMOUT is not set in /etc/profile, /etc/bash.bashrc or /etc/profile.d", "") }
        let evidence = "TMOUT=\(value) (\(source))\(readonly ? ", readonly" : "")\(exported ? ", exported" : "")"
        guard let seconds = Int(value), seconds > 0 else {
            return Outcome(.fail, "TMOUT is '\(value)' (\(source)): no timeout", evidence)
        }
        guard match(matcher, String(seconds)) else {
            return Outcome(.fail, "TMOUT is \(seconds) (\(source)); expected a value that \(matcher)", evidence)
        }
        guard readonly else { return Outcome(.fail, "TMOUT is set but not readonly: a user can unset it", evidence) }
        guard exported else { return Outcome(.fail, "TMOUT is set but not exported: child shells do not time out", evidence) }
        return Outcome(.pass, evidence, evidence)
    }

    func umask(_ required: UInt16, _ config: ConfigFiles, _ shellFiles: [ConfigFiles.File]) -> Outcome {
        let file = { (path: String) in config.files.first { $0.path == path } }
        var defs: [Substring: Substring] = [:]
        for line in file("/etc/login.defs")?.lines ?? [] {
            let words = line.prefix { $0 != "#" }.split(whereSeparator: isBlank)
            if words.count >= 2 { defs[words[0]] = words[1] }
        }
        // sshd's own umask (systemd's default for the service) until something changes it.
        var bits: UInt16 = 0o022
        var source = "sshd's default"
        var usergroups = false
        func session(_ pam: ConfigFiles.File, depth: Int) {
            for (index, raw) in pam.lines.enumerated() {
                let words = raw.prefix { $0 != "#" }.split(whereSeparator: isBlank)
                if words.count == 2, words[0] == "@include", depth < 4, let included = file("/etc/pam.d/" + words[1]) {
                    session(included, depth: depth + 1)
                }
                guard words.count >= 3, words[0] == "session", let module = words.firstIndex(where: { $0.hasSuffix("pam_umask.so") }) else {
                    continue
                }
                let arguments = words[(module + 1)...]
                if let argument = arguments.first(where: { $0.hasPrefix("umask=") }), let value = Self.octal(argument.dropFirst(6)) {
                    bits = value
                    source = "pam_umask argument in \(pam.path):\(index + 1)"
                } else if let value = defs["UMASK"].flatMap(Self.octal) {
                    bits = value
                    source = "UMASK in /etc/login.defs, applied by pam_umask at \(pam.path):\(index + 1)"
                }
                usergroups = arguments.contains("usergroups") || (!arguments.contains("nousergroups") && defs["USERGROUPS_ENAB"] == "yes")
            }
        }
        if let sshd = file("/etc/pam.d/sshd") { session(sshd, depth: 0) }
        for shellFile in shellFiles {
            for command in Self.commands(shellFile) where command.words.first == "umask" && command.words.count >= 2 {
                guard let value = Self.octal(Self.unquoted(command.words[command.words.count - 1])) else {
                    return Outcome(
                        .error, "cannot read the umask set at \(shellFile.path):\(command.line)", command.words.joined(separator: " "))
                }
                bits = value
                source = "\(shellFile.path):\(command.line)"
            }
        }
        let note = usergroups ? "; accounts with a private group get group bits equal to owner bits (USERGROUPS_ENAB)" : ""
        let evidence = "umask \(Self.format(bits)) (\(source))\(note)"
        return bits & required == required
            ? Outcome(.pass, evidence, evidence)
            : Outcome(
                .fail, "an SSH session's umask is \(Self.format(bits)) (\(source)); expected \(Self.format(required)) or stricter", evidence
            )
    }
}
