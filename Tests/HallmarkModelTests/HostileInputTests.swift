import Compliance
import Foundation
import HallmarkSupport
import Testing

@testable import HallmarkModel

/// Inputs written to hurt the host: option injection, alias bombs, sizes that overflow.
@Suite struct HostileInputTests {
    /// Nine levels of ten aliases each: 10⁹ strings once expanded, under 800 bytes of text.
    static func aliasBomb(under key: String) -> String {
        var lines = ["\(key):", "  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (previous, name) in zip(names, names.dropFirst()) {
            lines.append("  \(name): &\(name) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ",") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func recipe(parent: String, disk: String = "") -> String {
        "name: x\nversion: 1.0.0\nparent:\n  debian:\n" + parent + disk
    }

    @Test func aliasBombInAPolicyIsRefusedAtTheAnchorInUnderASecond() throws {
        let scratch = try Scratch()
        let path = try scratch.write("p.yaml", "id: p\ntitle: P\n" + Self.aliasBomb(under: "variables") + "controls: []\n")
        let started = ContinuousClock.now
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("YAML anchors and aliases are not allowed in policy files"), "\(error)")
        #expect(error.message.contains("'&a'"), "\(error)")
        #expect(error.location == SourceLocation(file: path, line: 4, column: 6), "\(error)")
    }

    @Test(arguments: ["recipe", "waiver"])
    func anchorsAreRefusedInEveryHallmarkFormat(format: String) throws {
        let scratch = try Scratch()
        let error: HallmarkError
        switch format {
        case "recipe":
            let path = try scratch.write("r.yaml", "name: &n x\nversion: 1.0.0\nparent: {debian: {suite: bookworm}}\n")
            error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        default:
            let path = try scratch.write("w.yaml", Self.aliasBomb(under: "waivers"))
            error = try #require(throws: HallmarkError.self) { try Waivers.load(path: path) }
        }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("YAML anchors and aliases are not allowed in \(format) files"), "\(error)")
        #expect(error.location?.line != nil && error.location?.column != nil)
    }

    @Test func aliasBombInAComponentStopsAtTheExpansionLimitInUnderASecond() throws {
        let scratch = try Scratch()
        let path = try scratch.write("c.yaml", minimalComponent + "\n" + Self.aliasBomb(under: "description"))
        let started = ContinuousClock.now
        let error = try #require(throws: HallmarkError.self) { try Component.load(path: path) }
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("expands to more than 100000 YAML nodes"), "\(error)")
        #expect(error.location?.file == path && error.location?.line != nil)
    }

    @Test func aComponentMaySharePlainNodesThroughAnchors() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "c.yaml",
            """
            name: shared
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - name: First
                    action: ExecuteBash
                    inputs: &greet
                      commands: ["echo hi"]
                  - name: Second
                    action: ExecuteBash
                    inputs: *greet
            """)
        let component = try Component.load(path: path)
        #expect(component.phase(.build)?.steps.count == 2)
    }

    @Test func deepNestingIsRefused() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "p.yaml", "id: p\ntitle: P\nvariables: " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n")
        let error = try #require(throws: HallmarkError.self) { try Policy.load(path: path) }
        #expect(error.message.contains("nests deeper than 64 levels"), "\(error)")
    }

    @Test(arguments: [
        ("    suite: bookworm\n    mirror: \"--version\"\n", "mirror must be an http://", 6, 13),
        ("    suite: bookworm\n    mirror: \"--customize-hook=touch /tmp/owned\"\n", "mirror must be an http://", 6, 13),
        ("    suite: bookworm\n    mirror: \"http://deb.debian.org/debian --customize-hook=id\"\n", "mirror must be an http://", 6, 13),
        (
            "    suite: bookworm\n    mirror: \"deb http://deb.debian.org/debian bookworm main\\n--hook-dir=/x\"\n",
            "mirror must be an http://", 6, 13
        ),
        ("    suite: \"--version\"\n", "unknown Debian suite", 5, 12),
        ("    suite: Bookworm\n", "unknown Debian suite", 5, 12),
        ("    suite: bookworm\n    packages: [\"--customize-hook=id\"]\n", "is not a Debian package name", 6, 16),
        ("    suite: bookworm\n    packages: [\"a,b\"]\n", "is not a Debian package name", 6, 16),
    ])
    func valuesThatWouldBeMmdebstrapOptionsAreRejected(parent: String, expected: String, line: Int, column: Int) throws {
        let scratch = try Scratch()
        let path = try scratch.write("r.yaml", Self.recipe(parent: parent))
        let error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location == SourceLocation(file: path, line: line, column: column), "\(error)")
    }

    @Test(arguments: [
        "http://deb.debian.org/debian",
        "https://mirror.example/debian/",
        "file:///srv/mirror",
        "deb http://deb.debian.org/debian bookworm main contrib",
        "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] https://deb.debian.org/debian bookworm main",
    ])
    func mirrorsMmdebstrapAcceptsAreKept(mirror: String) throws {
        let scratch = try Scratch()
        let path = try scratch.write("r.yaml", Self.recipe(parent: "    suite: bookworm\n    mirror: \"\(mirror)\"\n"))
        let recipe = try Recipe.load(path: path)
        #expect(recipe.parent == .debian(.init(suite: "bookworm", packages: [], mirror: mirror, variant: "minbase")))
    }

    @Test(arguments: [
        ("99999999999999999999G", "disk size must be at most 16T"),
        ("17179869184G", "disk size must be at most 16T"),
        ("20000000M", "disk size must be at most 16T"),
        ("-1G", "size must be a number"),
    ])
    func hugeDiskSizesAreRejectedNotTrapped(size: String, expected: String) throws {
        let scratch = try Scratch()
        let path = try scratch.write("r.yaml", Self.recipe(parent: "    suite: bookworm\n", disk: "disk: {size: \(size)}\n"))
        let error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location?.line == 6)
    }

    @Test(arguments: ["[link](https://evil.example)", "**bold**", "<img src=x>", "-leading", "name\nwith newline"])
    func componentNamesAreRestrictedLikeControlIds(name: String) throws {
        let scratch = try Scratch()
        let quoted = name.replacingOccurrences(of: "\n", with: "\\n")
        let path = try scratch.write("c.yaml", minimalComponent.replacingOccurrences(of: "name: hello", with: "name: \"\(quoted)\""))
        let error = try #require(throws: HallmarkError.self) { try Component.load(path: path) }
        #expect(error.message.contains("component name must be letters, digits"), "\(error)")
        #expect(error.location?.line == 1)
    }

    @Test func awsStyleComponentNamesWithInnerSpacesAreKept() throws {
        let scratch = try Scratch()
        let path = try scratch.write("c.yaml", minimalComponent.replacingOccurrences(of: "name: hello", with: "name: Hello World_1.0"))
        #expect(try Component.load(path: path).name == "Hello World_1.0")
    }
}
