import Foundation
import HallmarkSupport
import HallmarkTestSupport
import Testing

@testable import HallmarkModel

/// Writes files into a fresh temporary directory.
struct Scratch {
    let temporary: TemporaryDirectory
    var directory: String { temporary.path }

    init() throws {
        temporary = try TemporaryDirectory(prefix: "hallmark-model")
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try temporary.write(name, text) }
}

let minimalComponent = """
    name: hello
    schemaVersion: 1.0
    parameters:
      - Greeting: {type: string, default: hi}
    phases:
      - name: build
        steps:
          - name: Say
            action: ExecuteBash
            inputs:
              commands: ["echo {{ Greeting }}"]
    """

@Suite struct RecipeLoadingTests {
    @Test func loadsTheShippedRecipe() throws {
        let root = Repository.root
        let recipe = try Recipe.load(path: root + "/recipes/debian-12-minimal.yaml")
        #expect(recipe.name == "debian-12-minimal")
        #expect(recipe.version.description == "1.0.0")
        #expect(
            recipe.parent
                == .debian(
                    .init(
                        suite: "bookworm", packages: ["systemd-sysv", "udev", "linux-image-amd64", "qemu-guest-agent", "openssh-server"],
                        mirror: nil, variant: "minbase")))
        #expect(recipe.components.first?.parameters == ["PermitRootLogin": "no"])
        #expect(recipe.tests.reboot)
        #expect(recipe.tests.channel == .auto)
        #expect(recipe.tests.staticFacts == .image)
        #expect(recipe.outputs == [.qcow2, .raw])
        #expect(recipe.disk.sizeBytes == 4 << 30)
        #expect(recipe.build.initramfs == .virtio)
    }

    @Test func initramfsSettingIsReadAndPartOfWhatTheImageIsMadeFrom() throws {
        let scratch = try Scratch()
        let head = "name: x\nversion: 1.0.0\nparent: {debian: {suite: bookworm}}\n"
        let virtio = try Recipe.load(path: try scratch.write("a.yaml", head))
        let generic = try Recipe.load(path: try scratch.write("b.yaml", head + "build: {initramfs: generic}\n"))
        #expect(virtio.build.initramfs == .virtio)
        #expect(generic.build.initramfs == .generic)
        #expect(virtio.buildDigest(components: []) != generic.buildDigest(components: []))
        let error = try #require(throws: HallmarkError.self) {
            try Recipe.load(path: try scratch.write("c.yaml", head + "build: {initramfs: most}\n"))
        }
        #expect(error.location == SourceLocation(file: scratch.directory + "/c.yaml", line: 4, column: 20))
        #expect(error.message.contains("initramfs must be one of: virtio, generic, got 'most'"))
    }

    @Test func packageListsSettingIsReadAndPartOfWhatTheImageIsMadeFrom() throws {
        let scratch = try Scratch()
        let head = "name: x\nversion: 1.0.0\nparent: {debian: {suite: bookworm}}\n"
        let removed = try Recipe.load(path: try scratch.write("a.yaml", head))
        let explicit = try Recipe.load(path: try scratch.write("b.yaml", head + "build: {package_lists: remove}\n"))
        let kept = try Recipe.load(path: try scratch.write("c.yaml", head + "build: {package_lists: keep}\n"))
        #expect(removed.build.packageLists == .remove)
        #expect(kept.build.packageLists == .keep)
        // The default leaves the digest of images built before the setting existed as it was.
        #expect(removed.buildDigest(components: []) == explicit.buildDigest(components: []))
        #expect(removed.buildDigest(components: []) != kept.buildDigest(components: []))
        let error = try #require(throws: HallmarkError.self) {
            try Recipe.load(path: try scratch.write("d.yaml", head + "build: {package_lists: yes}\n"))
        }
        #expect(error.location == SourceLocation(file: scratch.directory + "/d.yaml", line: 4, column: 24))
        #expect(error.message.contains("package_lists must be one of: remove, keep, got 'yes'"))
    }

    @Test func unknownKeyIsReportedAtItsPosition() throws {
        let scratch = try Scratch()
        let path = try scratch.write(
            "r.yaml",
            """
            name: x
            version: 1.0.0
            parent:
              debian:
                suite: bookworm
                pakages: [openssh-server]
            """)
        let error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        #expect(error.code == .invalidInput)
        #expect(error.location == SourceLocation(file: path, line: 6, column: 5))
        #expect(error.message.contains("unknown key 'pakages'"))
        #expect(error.message.contains("suite, packages, mirror, variant"))
    }

    @Test(arguments: [
        ("version: 1.0", "version must be major.minor.patch"),
        ("version: 1.0.0\nparent: {debian: {suite: bookworm}}\ndisk: {size: 12X}", "size must be a number"),
        ("version: 1.0.0\nparent: {debian: {suite: bookworm}}\noutputs: [vmdk]", "unsupported output 'vmdk'"),
        (
            "version: 1.0.0\nparent: {debian: {suite: bookworm}}\ntests: {policies: [missing.yaml]}",
            "missing.yaml: no such file; expected a readable file"
        ),
        ("version: 1.0.0\nparent: {debian: {suite: bookworm}}\ntests: {channel: ssh}", "channel must be one of: auto, agent, console"),
        ("version: 1.0.0\nparent: {debian: {suite: bookworm}}\ntests: {static_facts: host}", "static_facts must be one of: image, guest"),
    ])
    func invalidRecipesAreRejected(body: String, expected: String) throws {
        let scratch = try Scratch()
        let path = try scratch.write("r.yaml", "name: x\n" + body + "\n")
        let error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        #expect(error.message.contains(expected), "\(error)")
        #expect(error.location?.line != nil)
    }

    @Test func yamlSyntaxErrorsCarryLineAndColumn() throws {
        let scratch = try Scratch()
        let path = try scratch.write("r.yaml", "name: x\nversion: [1.0.0\n")
        let error = try #require(throws: HallmarkError.self) { try Recipe.load(path: path) }
        #expect(error.message.hasPrefix("invalid YAML"))
        // An unclosed flow list is shown where it opens.
        #expect(error.location?.line == 2)
        #expect(error.location?.column == 10)
    }

    @Test func componentParametersAndDefaults() throws {
        let scratch = try Scratch()
        let path = try scratch.write("c.yaml", minimalComponent)
        let component = try Component.load(path: path)
        #expect(component.parameters.map(\.name) == ["Greeting"])
        #expect(component.parameters.first?.defaultValue == "hi")
        #expect(component.phase(.build)?.steps.first?.action == .executeBash)
    }

    @Test func componentWithUnsupportedActionIsRejected() throws {
        let scratch = try Scratch()
        let path = try scratch.write("c.yaml", minimalComponent.replacingOccurrences(of: "ExecuteBash", with: "ExecutePowerShell"))
        let error = try #require(throws: HallmarkError.self) { try Component.load(path: path) }
        #expect(error.message.hasPrefix("unknown action 'ExecutePowerShell'; TOE's Linux actions: ExecuteBash, ExecuteBinary"))
        #expect(error.location?.line == 9)
    }
}
