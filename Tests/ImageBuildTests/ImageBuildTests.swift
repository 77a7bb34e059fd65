import Foundation
import Testing

@testable import HallmarkModel
@testable import HallmarkSupport
@testable import ImageBuild
@testable import ImageStore

/// Runs step scripts with the host's bash inside a scratch directory: the same scripts the chroot
/// and the guest run, without either.
struct LocalBash: StepExecutor {
    func run(bashScript: String, timeout: Duration) async throws -> StepOutput {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("step-\(UUID().uuidString).sh").path
        try bashScript.write(toFile: script, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: script) }
        let child = try ChildProcess.spawn(HostCommand("/bin/bash", [script]), outputPath: script + ".out")
        defer { try? FileManager.default.removeItem(atPath: script + ".out") }
        let status = await child.wait()
        let output = (try? String(contentsOfFile: script + ".out", encoding: .utf8)) ?? ""
        guard case .exited(let code) = status else { return StepOutput(exitCode: 128, stdout: output, stderr: "") }
        return StepOutput(exitCode: code, stdout: output, stderr: "")
    }

    func reboot() async throws {}
}

func loadComponent(_ yaml: String) throws -> Component {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("component-\(UUID().uuidString).yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try Component.load(path: path)
}

@Suite struct ImageBuildTests {
    @Test func mmdebstrapArgvIsDeterministic() {
        let parent = Recipe.DebianParent(
            suite: "bookworm", packages: ["openssh-server", "udev", "openssh-server"], mirror: nil, variant: "minbase")
        #expect(
            ParentCache.mmdebstrapCommand(for: parent, output: "/c/p.tar").argv == [
                "mmdebstrap", "--variant=minbase", "--format=tar", "--architectures=amd64", "--include=openssh-server,udev",
            ] + ParentCache.dropHostFilesHooks + ["--", "bookworm", "/c/p.tar"])
        // Package order and duplicates do not change what is bootstrapped, so they do not change the cache key.
        var reordered = parent
        reordered.packages = ["udev", "openssh-server"]
        #expect(ParentCache.key(for: parent) == ParentCache.key(for: reordered))
        var otherSuite = parent
        otherSuite.suite = "trixie"
        #expect(ParentCache.key(for: parent) != ParentCache.key(for: otherSuite))
    }

    @Test func diskCommandsUseNoLoopMounts() {
        #expect(
            ImageBuilder.mkfsCommand(rootfs: "/w/rootfs", image: "/w/disk.raw", sizeBytes: 1 << 30).argv
                == ["mkfs.ext4", "-q", "-F", "-L", "hallmark-root", "-d", "/w/rootfs", "/w/disk.raw", "1048576k"])
        #expect(
            ImageBuilder.qcow2Command(raw: "/w/disk.raw", qcow2: "/w/disk.qcow2").argv
                == ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "/w/disk.raw", "/w/disk.qcow2"])
    }

    @Test func stepsRunFencedWithACleanEnvironment() {
        let executor = ChrootExecutor(root: "/w/rootfs", scratch: "/w/step", network: true, environment: ["PROXY": "p", "PATH": "/evil"])
        let command = executor.sandbox(script: "/w/step/step.sh").command(helper: "/h/hallmark-sandbox")
        #expect(command.executable == "unshare")
        #expect(!command.inheritsEnvironment)
        #expect(
            Array(command.arguments.prefix(8)) == [
                "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--ipc", "--uts",
            ])
        let helperArguments = Array(command.arguments.drop { $0 != "/h/hallmark-sandbox" })
        #expect(Array(helperArguments.suffix(4)) == ["/w/rootfs", "--", "/bin/bash", "/run/hallmark-step.sh"])
        for option in ["--bind-self", "--dev", "--proc", "--sys", "--run"] { #expect(helperArguments.contains(option), "\(option)") }
        #expect(helperArguments.contains("/w/step/step.sh:/run/hallmark-step.sh"))
        #expect(helperArguments.contains("/etc/resolv.conf:/etc/resolv.conf"))
        // The recipe's variables reach the step, but cannot replace the fixed ones.
        #expect(helperArguments.contains("PROXY=p"))
        #expect(helperArguments.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"))
        #expect(!helperArguments.contains("PATH=/evil"))
        let kept = zip(helperArguments, helperArguments.dropFirst()).filter { $0.0 == "--keep-cap" }.map(\.1)
        #expect(Set(kept) == Set(Sandbox.buildCapabilities))
        for escape in ["sys_admin", "mknod", "dac_read_search", "net_raw", "sys_ptrace", "net_admin"] { #expect(!kept.contains(escape)) }
        // A hermetic build gets a network namespace of its own and no resolver.
        let hermetic = ChrootExecutor(root: "/w/rootfs", scratch: "/w/step", network: false).sandbox(script: "/s").command(helper: "/h")
        #expect(hermetic.arguments.contains("--net"))
        #expect(!hermetic.arguments.contains { $0.hasPrefix("/etc/resolv.conf") })
    }

    @Test func concurrentBuildsNeverShareABuildNumber() async throws {
        let home = HallmarkHome(root: FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)").path)
        defer { try? FileManager.default.removeItem(atPath: home.root) }
        let store = ImageStore(home: home)
        try FileManager.default.createDirectory(
            atPath: store.directory(name: "web", version: "1.0.0", build: 3), withIntermediateDirectories: true)
        let numbers = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<16 { group.addTask { try store.reserveNextBuild(name: "web", version: "1.0.0") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(numbers.sorted() == Array(4...19))
        // A claimed number whose build failed is not handed out again; other versions count apart.
        #expect(try store.reserveNextBuild(name: "web", version: "1.0.0") == 20)
        #expect(try store.reserveNextBuild(name: "web", version: "1.1.0") == 1)
        #expect(store.builds(name: "web", version: "1.0.0") == [3])
    }

    /// A child spawned while an interrupt tears down must not slip past the teardown's list.
    @Test func registryRefusesChildrenOnceTheTeardownStarted() {
        let registry = ChildRegistry()
        #expect(registry.add(4_000_000))
        registry.forget(4_000_000)
        registry.tearDownEverything(grace: 0)
        #expect(!registry.add(4_000_001))
        #expect(registry.livePIDs.isEmpty)
    }

    @Test func templatesSubstituteAndRejectUnknownNames() throws {
        let location = SourceLocation(file: "c.yaml", line: 3, column: 5)
        #expect(
            try Template.render("PermitRootLogin {{ PermitRootLogin }}", variables: ["PermitRootLogin": "no"], at: location)
                == "PermitRootLogin no")
        let error = try #require(throws: HallmarkError.self) { try Template.render("{{ Missing }}", variables: [:], at: location) }
        #expect(error.location == location)
        #expect(error.message.contains("unknown variable '{{ Missing }}'"))
    }

    @Test func stepsRunWithParametersOutputsAndRetries() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("steps-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let component = try loadComponent(
            """
            name: demo
            schemaVersion: 1.0
            parameters:
              - Word: {type: string, default: hello}
            constants:
              - Dir: {type: string, value: \(directory)}
            phases:
              - name: build
                steps:
                  - name: Write
                    action: CreateFile
                    inputs:
                      - path: "{{ Dir }}/a/file.txt"
                        content: "{{ Word }} 'quoted' $HOME"
                        permissions: "0600"
                  - name: Read
                    action: ExecuteBash
                    inputs:
                      commands: ["cat {{ Dir }}/a/file.txt"]
                  - name: Chain
                    action: ExecuteBash
                    inputs:
                      commands: ["echo '{{ build.Read.outputs.stdout }}' > {{ Dir }}/chained.txt"]
                  - name: FlakyOnce
                    action: ExecuteBash
                    maxAttempts: 3
                    inputs:
                      commands: ["if [ ! -e {{ Dir }}/tried ]; then touch {{ Dir }}/tried; exit 7; fi"]
            """)
        var outputs: [String: String] = [:]
        let records = try await ComponentRunner(component: component, parameters: ["Word": "bonjour"], log: { _ in })
            .run(.build, on: LocalBash(), outputs: &outputs)
        #expect(try String(contentsOfFile: directory + "/a/file.txt", encoding: .utf8) == "bonjour 'quoted' $HOME")
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/a/file.txt")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Substitution is textual, as in TOE: the chained output's own quotes end the echo's quoting.
        #expect(try String(contentsOfFile: directory + "/chained.txt", encoding: .utf8) == "bonjour quoted $HOME\n")
        #expect(records.map(\.attempts) == [1, 1, 1, 2])
    }

    @Test func failingStepAbortsWithItsPosition() async throws {
        let component = try loadComponent(
            """
            name: broken
            schemaVersion: 1.0
            phases:
              - name: build
                steps:
                  - name: Fails
                    action: ExecuteBash
                    inputs:
                      commands: ["echo doomed >&2", "exit 3"]
                  - name: NeverRuns
                    action: ExecuteBash
                    inputs:
                      commands: ["exit 0"]
            """)
        var outputs: [String: String] = [:]
        let failure = try await #require(throws: ComponentStepFailure.self) {
            try await ComponentRunner(component: component, parameters: [:], log: { _ in }).run(.build, on: LocalBash(), outputs: &outputs)
        }
        #expect(failure.message.contains("step 'Fails' failed with exit code 3"))
        #expect(failure.location.line == 6)
    }

    /// Files are hashed by openssl, bytes in-process: both must agree (artifact digests are compared
    /// with digests computed either way).
    @Test func fileAndByteDigestsAgree() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("digest-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try await Digest.sha256(fileAt: path) == Digest.sha256(bytes))
        #expect(try await Digest.sha256(fileAt: path, lowPriority: true) == Digest.sha256(bytes))
        #expect(Digest.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func unknownRecipeParameterIsRejected() throws {
        let component = try loadComponent(
            "name: c\nschemaVersion: 1.0\nphases:\n  - name: build\n    steps:\n      - name: S\n        action: ExecuteBash\n        inputs: {commands: [true]}\n"
        )
        #expect(throws: HallmarkError.self) {
            try ComponentRunner(component: component, parameters: ["Typo": "x"], log: { _ in }).variables()
        }
    }
}
