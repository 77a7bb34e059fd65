import Compliance
import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .path

@Suite struct PolicyLanguageTests {
    static let base = """
        id: base
        title: Base
        variables:
          max_tries: "4"
          banner: /etc/issue.net
        controls:
          - id: max-tries
            title: At most {{ max_tries }} tries
            severity: medium
            tags: [ssh, auth]
            only_if: {package: {name: openssh-server}}
            check:
              sshd: {setting: MaxAuthTries, value: {le: "{{max_tries}}"}}
          - id: banner
            title: Banner
            severity: low
            check:
              sshd: {setting: Banner, value: "{{ banner }}"}
        """

    @Test func includesVariablesAndOverrides() throws {
        let scratch = try Scratch()
        try scratch.write("base.yaml", Self.base)
        try FileManager.default.createDirectory(atPath: scratch.directory + "/site", withIntermediateDirectories: true)
        let tailored = try scratch.write(
            "site/tailored.yaml",
            """
            id: tailored
            title: Tailored
            include:
              - {path: ../base.yaml, variables: {max_tries: "3"}}
            controls:
              - id: own
                title: Own
                severity: high
                check: {package: {name: telnetd, installed: false}}
            """)
        let policy = try Policy.load(path: tailored)
        #expect(policy.controls.map(\.id) == ["max-tries", "banner", "own"])
        #expect(policy.declaredVariables == ["max_tries", "banner"])
        #expect(policy.includedFiles.map { ($0.path as NSString).lastPathComponent } == ["base.yaml"])
        #expect(policy.sources.count == 2)
        guard let tries = policy.controls[0].check.as(SshdCheck.self), let banner = policy.controls[1].check.as(SshdCheck.self) else {
            Issue.record("not sshd checks"); return
        }
        #expect(tries.value == .compare(.le, 3))
        #expect(policy.controls[0].title == "At most 3 tries")
        #expect(banner.value == .equals("/etc/issue.net"))
        #expect(policy.controls[0].tags == ["ssh", "auth"])
        #expect(policy.controls(taggedWithAnyOf: ["auth"]).map(\.id) == ["max-tries"])
        guard let precondition = policy.controls[0].onlyIf?.as(PackageCheck.self) else { Issue.record("no only_if"); return }
        #expect(precondition.name == "openssh-server" && precondition.installed)

        // The caller's overrides win over every default and over the includer's values.
        let overridden = try Policy.load(path: tailored, variables: ["max_tries": "2", "banner": "none"])
        guard let tries2 = overridden.controls[0].check.as(SshdCheck.self), let banner2 = overridden.controls[1].check.as(SshdCheck.self)
        else { return }
        #expect(tries2.value == .compare(.le, 2))
        #expect(banner2.value == .equals("none"))
        #expect(try Policy.load(path: scratch.directory + "/base.yaml").variables == ["max_tries": "4", "banner": "/etc/issue.net"])
    }

    @Test func overridesNobodyDeclaresAreRejectedByLoadAll() throws {
        let scratch = try Scratch()
        let base = try scratch.write("base.yaml", Self.base)
        let error = try #require(throws: HallmarkError.self) { try Policy.loadAll(paths: [base], variables: ["max_trys": "3"]) }
        #expect(error.message.contains("'max_trys'"))
        #expect(error.code == .invalidInput)
        #expect(try Policy.loadAll(paths: [base], variables: ["max_tries": "3"]).count == 1)
    }

    @Test func includeCyclesAreRejectedAtTheIncludeLine() throws {
        let scratch = try Scratch()
        try scratch.write(
            "a.yaml", "id: a\ntitle: A\ninclude: [b.yaml]\ncontrols:\n  - {id: a1, title: A1, severity: low, check: {reboot: {}}}\n")
        try scratch.write(
            "b.yaml", "id: b\ntitle: B\ninclude:\n  - c.yaml\ncontrols:\n  - {id: b1, title: B1, severity: low, check: {reboot: {}}}\n")
        try scratch.write(
            "c.yaml", "id: c\ntitle: C\ncontrols:\n  - {id: c1, title: C1, severity: low, check: {reboot: {}}}\ninclude:\n  - a.yaml\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: scratch.directory + "/a.yaml") }
        #expect(error.message.contains("include cycle: a.yaml → b.yaml → c.yaml → a.yaml"), "\(error)")
        #expect(error.location?.file.hasSuffix("/c.yaml") == true)
        #expect(error.location?.line == 6 && error.location?.column == 5, "\(error)")
        // Including yourself is the shortest cycle.
        let own = try scratch.write("self.yaml", "id: s\ntitle: S\ninclude: [self.yaml]\ncontrols: []\n")
        #expect(throws: HallmarkError.self) { try Policy.load(path: own) }
    }

    @Test func aFileIncludedTwiceWithoutACycleCountsOnce() throws {
        let scratch = try Scratch()
        try scratch.write("base.yaml", Self.base)
        try scratch.write("mid.yaml", "id: mid\ntitle: M\ninclude: [base.yaml]\n")
        let top = try scratch.write("top.yaml", "id: top\ntitle: T\ninclude: [base.yaml, mid.yaml]\n")
        #expect(try Policy.load(path: top).controls.map(\.id) == ["max-tries", "banner"])
    }

    @Test func duplicateIdsAcrossIncludesNameBothPlaces() throws {
        let scratch = try Scratch()
        try scratch.write("base.yaml", Self.base)
        let top = try scratch.write(
            "top.yaml",
            "id: t\ntitle: T\ninclude: [base.yaml]\ncontrols:\n  - id: banner\n    title: B\n    severity: low\n    check: {reboot: {}}\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: top) }
        #expect(error.message.contains("duplicate control id 'banner' (first defined at \(scratch.directory)/base.yaml:14:5)"), "\(error)")
        #expect(error.location?.file.hasSuffix("top.yaml") == true && error.location?.line == 5)
    }

    @Test func undefinedAndMalformedVariablesAreErrorsAtTheirScalar() throws {
        let scratch = try Scratch()
        let undefined = try scratch.write(
            "u.yaml",
            "id: u\ntitle: U\ncontrols:\n  - id: c\n    title: C\n    severity: low\n    check:\n      command: {run: \"echo {{ nope }}\", exit_code: 0}\n"
        )
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: undefined) }
        #expect(error.message.contains("undefined variable 'nope'"))
        #expect(error.location?.line == 8 && error.location?.column == 22, "\(error)")
        let malformed = try scratch.write(
            "m.yaml",
            "id: m\ntitle: M\nvariables: {x: \"1\"}\ncontrols:\n  - id: c\n    title: C\n    severity: low\n    check:\n      command: {run: \"echo {{ x\", exit_code: 0}\n"
        )
        let error2 = try #require(throws: HallmarkError.self) { try Policy.load(path: malformed) }
        #expect(error2.message.contains("malformed variable reference"), "\(error2)")
        #expect(error2.location?.line == 9)
    }

    @Test func includeVariablesMustBeDeclaredByTheIncludedFile() throws {
        let scratch = try Scratch()
        try scratch.write("base.yaml", Self.base)
        let top = try scratch.write("top.yaml", "id: t\ntitle: T\ninclude:\n  - path: base.yaml\n    variables: {max_trys: \"3\"}\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: top) }
        #expect(error.message.contains("variable 'max_trys' is not declared by base.yaml"), "\(error)")
        #expect(error.location?.line == 5)
    }

    @Test func lintReportsEveryProblemWithItsPosition() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "p.yaml",
            """
            id: p
            title: P
            owner: me
            controls:
              - id: a
                title: A
                severity: high
                check: {reboot: {}}
              - id: b
                title: B
                severity: high
                check: {command: {run: x, stdout: {matches: "("}}}
              - id: c
                title: C
                severity: high
                check: {sysctl: {key: a.b, vlaue: "1"}}
              - id: a
                title: A again
                severity: low
                check: {reboot: {}}
            """)
        let (policy, problems) = Policy.lint(path: path)
        #expect(policy != nil)
        let lines = problems.compactMap(\.location?.line)
        #expect(lines == [3, 12, 16, 17], "\(problems)")
        guard problems.count == 4 else { return }
        #expect(problems[0].message.contains("unknown key 'owner'"))
        #expect(problems[1].message.contains("invalid regular expression"))
        #expect(problems[2].message.contains("unknown key 'vlaue'"))
        #expect(problems[3].message.contains("duplicate control id 'a'"))
        #expect(problems.allSatisfy { $0.location?.column != nil && $0.code == .invalidInput })
    }

    @Test(arguments: [
        ("check: {package: {name: openssl, version: \">= 3.0.11\"}}", nil as String?),
        ("check: {package: {name: openssl, version: \"3.0\"}}", "version must be a constraint"),
        ("check: {package: {name: openssl, installed: false, version: \">= 1\"}}", "needs 'installed: true'"),
        ("check: {kernel_module: {name: cramfs, loadable: false}}", nil),
        ("check: {kernel_module: {name: \"cram fs\", loadable: false}}", "not a kernel module name"),
        ("check: {kernel_module: {name: cramfs}}", "needs 'loadable' or 'loaded'"),
        ("check: {mount: {path: /tmp, options: [nodev, nosuid]}}", nil),
        ("check: {mount: {path: tmp}}", "path must be absolute"),
        ("check: {port: {port: 22, listening: false}}", nil),
        ("check: {port: {port: 70000, listening: false}}", "port must be 1-65535"),
        ("check: {port: {port: 53, protocol: sctp, listening: false}}", "protocol must be tcp or udp"),
        ("check: {find: {unowned: false}}", nil),
        ("check: {find: {paths: [/], suid_allowed: [/usr/bin/su]}}", nil),
        ("check: {find: {paths: [/], unowned: true}}", "find supports 'unowned: false'"),
        ("check: {sysctl: {key: net.ipv4.ip_forward, value: \"0\", persisted: true}}", nil),
        ("check: {sysctl: {key: net.ipv4.ip_forward, value: \"0\", live: false}}", "needs 'persisted: true'"),
        ("check: {user: {name: root, uid: \"0\", shell: {matches: bash$}}}", nil),
        ("check: {user: {name: games, exists: false, shell: x}}", "makes no sense with 'exists: false'"),
        ("check: {group: {name: shadow, members: \"\"}}", nil),
        ("check: {accounts: {unique_uids: true, unique_gids: true}}", nil),
        ("check: {accounts: {unique_uids: false}}", "can only be true"),
        ("check: {accounts: {}}", "needs at least one of"),
        ("check: {sshd: {setting: Ciphers, value: {not_matches: cbc}}}", nil),
        ("check: {command: {run: uname -r, runtime: true, stdout: {matches: amd64}}}", nil),
        ("check: {command: {run: uname -r}}", "needs 'exit_code', 'stdout' or 'stderr'"),
        ("only_if: {mount: {path: /tmp}}\n    check: {mount: {path: /tmp, options: [noexec]}}", nil),
        ("only_if: {mount: {path: /tmp, bogus: 1}}\n    check: {reboot: {}}", "unknown key 'bogus'"),
        ("tags: ssh\n    check: {reboot: {}}", nil),
    ])
    func resourceSyntax(body: String, expected: String?) throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "p.yaml", "id: p\ntitle: P\ncontrols:\n  - id: c\n    title: C\n    severity: high\n    " + body + "\n")
        if let expected {
            let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
            #expect(error.message.contains(expected), "\(error)")
            #expect(error.location?.line != nil)
        } else {
            #expect(throws: Never.self) { try Policy.load(path: path) }
        }
    }

    @Test func testCasesAreParsedAndValidated() throws {
        let scratch = try Scratch()
        let good = try scratch.write(
            "good.yaml",
            Self.base + """

                tests:
                  - name: hardened
                    facts:
                      packages: "openssh-server\\tii \\t1:9.2p1-2\\n"
                      sshd: {exitCode: 0, stdout: "maxauthtries 3\\n"}
                    reboot: {boot_id_before: a, boot_id_after: b}
                    expect: {max-tries: pass, banner: fail}
                """)
        let policy = try Policy.load(path: good)
        #expect(policy.tests.count == 1)
        #expect(policy.tests[0].facts["sshd"] == PolicyTestCase.ProbeFact(exitCode: 0, stdout: "maxauthtries 3\n"))
        #expect(policy.tests[0].facts["packages"]?.exitCode == 0)
        #expect(policy.tests[0].expectations.map(\.controlID) == ["max-tries", "banner"])
        let bad = try scratch.write("bad.yaml", Self.base + "\ntests:\n  - name: t\n    expect: {nosuch: pass, banner: passed}\n")
        let (_, problems) = Policy.lint(path: bad)
        #expect(problems.count == 1)
        #expect(problems.first?.message.contains("expected result must be one of") == true, "\(problems)")
        let unknown = try scratch.write("unknown.yaml", Self.base + "\ntests:\n  - name: t\n    expect: {nosuch: pass}\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: unknown) }
        #expect(error.message.contains("unknown control 'nosuch'"))
        #expect(error.location?.line == 21)
    }

    @Test func everyShippedPolicyLintsClean() throws {
        let directory = repositoryRoot + "/policies"
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.contains("cis-debian12-level1.yaml") && files.contains("image-health.yaml") && files.contains("patch-currency.yaml"))
        for file in files {
            let (linted, problems) = Policy.lint(path: directory + "/" + file)
            #expect(problems.isEmpty, "\(file): \(problems)")
            let policy = try #require(linted)
            #expect(Set(policy.controls.map(\.id)).count == policy.controls.count)
            #expect(policy.controls.allSatisfy { $0.rationale != nil && $0.remediation != nil }, "\(file)")
        }
        let cis = try Policy.load(path: directory + "/cis-debian12-level1.yaml")
        #expect(cis.controls.count >= 60)
        #expect(cis.controls.allSatisfy { $0.references["cis"]?.isEmpty == false })
        let sections = Set(cis.controls.compactMap { $0.references["cis"]?.first?.first })
        #expect(sections.isSuperset(of: ["1", "2", "3", "4", "5", "6", "7"]))
    }
}
