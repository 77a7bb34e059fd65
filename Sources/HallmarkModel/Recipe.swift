import Foundation
import HallmarkSupport

/// What to build: the parent, the components applied to it, how to test it and what to output.
public struct Recipe: Sendable {
    public var name: String
    public var version: SemanticVersion
    public var description: String?
    public var parent: Parent
    public var components: [ComponentReference]
    public var tests: TestSettings
    public var outputs: [OutputFormat]
    public var disk: DiskSettings
    public var evidence: EvidenceSettings
    public var build: BuildSettings
    /// Absolute path of the recipe file.
    public var path: String
    /// sha256 of the recipe file's bytes.
    public var digest: String

    public enum Parent: Sendable, Equatable {
        /// A Debian suite bootstrapped with mmdebstrap.
        case debian(DebianParent)
        /// A rootfs tarball on the host (absolute path), unpacked as the tree.
        case tarball(String)
        /// A raw or qcow2 disk on the host (absolute path) holding one ext4 filesystem, read without mounting.
        case disk(String)
        /// An earlier Hallmark image: the newest build of `name` whose version matches `version` (`1.x.x`).
        case image(ImageParent)
    }

    public struct ImageParent: Sendable, Equatable {
        public var name: String
        public var version: VersionPattern

        public init(name: String, version: VersionPattern) {
            (self.name, self.version) = (name, version)
        }
    }

    public struct DebianParent: Sendable, Equatable {
        public var suite: String
        public var packages: [String]
        public var mirror: String?
        /// mmdebstrap's variant; `minbase` keeps images small.
        public var variant: String
    }

    public struct ComponentReference: Sendable {
        /// Absolute path of the component document.
        public var path: String
        public var parameters: [String: String]
        public var location: SourceLocation
    }

    public struct TestSettings: Sendable {
        public var reboot: Bool
        /// Absolute paths of policy files.
        public var policies: [String]
        /// The lowest severity whose failure closes the gate.
        public var gate: Severity
        /// Absolute path of the waiver file, if any.
        public var waivers: String?
        /// Overrides of the policies' variables.
        public var variables: [String: String]
        /// Where `variables` is written, for errors about undeclared names.
        public var variablesLocation: SourceLocation?
        /// How Hallmark gets into the test VM (README: guest channels).
        public var channel: GuestChannelSetting = .auto
        /// Where a booted test reads its static facts (README: where facts are observed).
        public var staticFacts: StaticFactsLocation = .image
    }

    /// Which way into the test VM the recipe allows (`tests.channel`): `auto` prefers the guest agent
    /// and falls back to the console shell. The VM layer has its own choice; the pipeline maps one to the other.
    public enum GuestChannelSetting: String, Sendable, Codable, CaseIterable {
        case auto, agent, console
    }

    /// Where a booted test observes what does not need the running system (files, packages,
    /// accounts, `sshd -T`, commands not marked `runtime`): `image` (the disk artifact, mounted
    /// read-only on the host while the guest boots) or `guest` (with the runtime facts).
    public typealias StaticFactsLocation = FactSource
    static let staticFactsChoices: [FactSource] = [.image, .guest]

    public typealias OutputFormat = HallmarkSupport.OutputFormat

    public struct DiskSettings: Sendable {
        public var sizeBytes: UInt64
        /// `disk.compress`: the qcow2 output's clusters are compressed (smaller to ship, slower to write).
        public var compress = false
    }

    /// How component steps run while the image is built.
    public struct BuildSettings: Sendable {
        /// Steps reach the network, as an Image Builder build instance does; false makes a hermetic build.
        public var network = true
        /// Variables steps get besides the fixed PATH, HOME, LC_ALL and DEBIAN_FRONTEND; nothing of
        /// Hallmark's own environment reaches a step.
        public var environment: [String: String] = [:]
        /// `build.source_date_epoch`: the time every archive's timestamps are clamped to and the OCI
        /// image's creation time; nil takes `$SOURCE_DATE_EPOCH`, else the parent's newest packaged file.
        public var sourceDateEpoch: Int?
        /// Which kernel modules the image's initrd carries (`build.initramfs`).
        public var initramfs: InitramfsModules = .virtio
        /// `build.package_lists`: whether the apt lists fetched for the components stay in the image.
        public var packageLists: PackageListsPolicy = .remove
    }

    /// `remove` (the default) seals the image without the apt lists fetched for its components, as
    /// a parent comes from mmdebstrap; `keep` ships them, for checks that judge them in the guest
    /// (patch-currency) at the cost of about 80 MB and a tree that depends on when it was built.
    public enum PackageListsPolicy: String, Sendable, CaseIterable {
        case remove, keep
    }

    /// `virtio` (the default) packs only what a QEMU/KVM guest needs to find its root disk, so the
    /// initrd is a fifth of the size and unpacks in seconds less; such an image cannot boot on
    /// hardware (or a hypervisor) whose disk needs another driver. `generic` keeps Debian's
    /// `MODULES=most`, which boots almost anywhere.
    public enum InitramfsModules: String, Sendable, CaseIterable {
        case virtio, generic
    }

    /// How this recipe's evidence is written; command-line flags override these.
    public struct EvidenceSettings: Sendable {
        /// Absolute path of the PKCS#8 PEM signing key (the key itself never goes in a recipe).
        public var signingKey: String?
        /// `evidence.junit`; when nil, the command line's `--junit`, else standard.
        public var junit: JUnitFlavour?
    }
}

/// The JUnit flavour, as a recipe's `evidence.junit` and `--junit` name it; Evidence maps it to the writer's.
public enum JUnitFlavour: String, Sendable, CaseIterable {
    /// Valid against the Ant (Windy Road) and Jenkins JUnit schemas.
    case standard
    /// Adds each control's policy file, line and testcase properties; not schema-valid.
    case rich
}

/// A version with `x` for any number in a place (`1.x.x`, `1.2.x`, `1.2.3`).
public struct VersionPattern: Sendable, Equatable, CustomStringConvertible {
    /// nil where the pattern has `x`.
    public var parts: [Int?]

    public init?(_ text: String) {
        let fields = text.split(separator: ".", omittingEmptySubsequences: false)
        guard fields.count == 3 else { return nil }
        var parts: [Int?] = []
        for field in fields {
            if field == "x" {
                parts.append(nil)
            } else if let number = Int(field), number >= 0 {
                parts.append(number)
            } else {
                return nil
            }
        }
        self.parts = parts
    }

    public func matches(_ version: SemanticVersion) -> Bool {
        zip(parts, [version.major, version.minor, version.patch]).allSatisfy { $0 == nil || $0 == $1 }
    }

    public var description: String { parts.map { $0.map(String.init) ?? "x" }.joined(separator: ".") }
}

/// `major.minor.patch`, as Image Builder recipes use; the catalog adds a build number.
public struct SemanticVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 3, let major = parts[0], let minor = parts[1], let patch = parts[2],
            major >= 0, minor >= 0, patch >= 0
        else { return nil }
        (self.major, self.minor, self.patch) = (major, minor, patch)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }
}

extension Recipe {
    /// Loads and validates a recipe; every problem is reported at its file:line:column.
    public static func load(path: String) throws -> Recipe {
        let absolute = absolutePath(path)
        let input = try YAMLInput.load(path: absolute, context: "recipe")
        let root = try input.mapping(allowed: [
            "name", "version", "description", "parent", "components", "build", "tests", "outputs", "disk", "evidence",
        ])
        let directory = (absolute as NSString).deletingLastPathComponent

        let nameInput = try root.required("name")
        let name = try nameInput.string()
        guard name.range(of: #"^[a-z0-9][a-z0-9._-]*$"#, options: .regularExpression) != nil else {
            throw nameInput.error("name must be lowercase letters, digits, '.', '_' or '-', got '\(name)'")
        }
        // The name is a directory name under images/ and reports/ and part of the VM's name.
        guard name.count <= maximumNameLength else {
            throw nameInput.error("name must be at most \(maximumNameLength) characters, got \(name.count)")
        }
        let versionInput = try root.required("version")
        guard let version = SemanticVersion(try versionInput.string()) else {
            throw versionInput.error("version must be major.minor.patch (e.g. 1.0.0), got '\(try versionInput.string())'")
        }

        let components =
            try root["components"].map { list in
                try list.sequence().map { item -> ComponentReference in
                    let fields = try item.mapping(allowed: ["path", "parameters"])
                    let pathInput = try fields.required("path")
                    let componentPath = resolve(try pathInput.string(), relativeTo: directory)
                    try UserFile.check(componentPath, what: "component file", at: pathInput.location)
                    var parameters: [String: String] = [:]
                    for (key, value) in try fields["parameters"]?.freeMapping() ?? [] {
                        parameters[key] = try value.string()
                    }
                    return ComponentReference(path: componentPath, parameters: parameters, location: item.location)
                }
            } ?? []

        let data = try Data(contentsOf: URL(fileURLWithPath: absolute))
        return Recipe(
            name: name,
            version: version,
            description: try root["description"]?.string(),
            parent: try parseParent(try root.required("parent"), directory: directory),
            components: components,
            tests: try parseTests(root["tests"], directory: directory),
            outputs: try parseOutputs(root["outputs"]),
            disk: try parseDisk(root["disk"]),
            evidence: try parseEvidence(root["evidence"], directory: directory),
            build: try parseBuild(root["build"]),
            path: absolute,
            digest: Digest.sha256(data))
    }

    private static func parseParent(_ input: YAMLInput, directory: String) throws -> Parent {
        let parent = try input.mapping(allowed: ["debian", "tarball", "disk", "image"])
        let kinds = ["debian", "tarball", "disk", "image"].filter { parent[$0] != nil }
        guard kinds.count == 1 else {
            throw input.error(
                "parent must have exactly one of: debian, tarball, disk, image (got \(kinds.isEmpty ? "none" : kinds.joined(separator: ", ")))"
            )
        }
        for kind in ["tarball", "disk"] {
            guard let pathInput = parent[kind] else { continue }
            let path = resolve(try pathInput.string(), relativeTo: directory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw pathInput.error("\(kind) parent \(path) is not a file")
            }
            return kind == "tarball" ? .tarball(path) : .disk(path)
        }
        if let imageInput = parent["image"] {
            let image = try imageInput.mapping(allowed: ["name", "version"])
            let name = try image.required("name").string()
            let versionInput = try image.required("version")
            let text = try versionInput.string()
            guard let version = VersionPattern(text) else {
                throw versionInput.error("version must be major.minor.patch with numbers or 'x' (e.g. 1.x.x), got '\(text)'")
            }
            return .image(ImageParent(name: name, version: version))
        }
        let debian = try parent.required("debian").mapping(allowed: ["suite", "packages", "mirror", "variant"])
        let variant = try debian["variant"]?.string() ?? "minbase"
        let variants = ["extract", "custom", "essential", "apt", "required", "minbase", "buildd", "important", "debootstrap", "standard"]
        guard variants.contains(variant) else {
            throw try debian.required("variant").error("variant must be one of: \(variants.joined(separator: ", "))")
        }
        let packages = try debian["packages"]?.strings() ?? []
        for (index, package) in packages.enumerated()
        where package.range(of: #"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$"#, options: .regularExpression) == nil {
            throw try debian.required("packages").sequence()[index].error(
                "'\(package)' is not a Debian package name (two or more of lowercase letters, digits, '+', '-', '.', starting with a letter or digit; optionally ':arch')"
            )
        }
        // Suite and mirror end up on mmdebstrap's command line: a value that looks like an
        // option (`--customize-hook=…`) would run a host command as root.
        // Only known names, so a typo (`bookwrom`) stops here rather than after mmdebstrap's download.
        let suiteInput = try debian.required("suite")
        let suite = try suiteInput.string()
        guard debianSuites.contains(suite) else {
            throw suiteInput.error("unknown Debian suite '\(suite)'; expected a codename or suite: \(debianSuites.joined(separator: ", "))")
        }
        var mirror: String?
        if let mirrorInput = debian["mirror"] {
            let text = try mirrorInput.string()
            guard isMirror(text) else {
                throw mirrorInput.error(
                    "mirror must be an http://, https:// or file:// URL, or a one-line sources.list entry ('deb [options] URL suite component…'), got '\(text)'"
                )
            }
            mirror = text
        }
        return .debian(DebianParent(suite: suite, packages: packages, mirror: mirror, variant: variant))
    }

    /// A mirror URL, or a sources.list line as mmdebstrap accepts it in place of one.
    static func isMirror(_ text: String) -> Bool {
        let url = #"(https?|file)://[^\s\[\]]+"#
        let word = #"[^\s\[\]-][^\s\[\]]*"#
        let options = #"\[[a-zA-Z0-9.,=+:/_ -]+\]"#
        let line = "^deb(-src)? (\(options) )?\(url)( \(word))+$"
        return text.range(of: "^\(url)$", options: .regularExpression) != nil
            || text.range(of: line, options: .regularExpression) != nil
    }

    private static func parseTests(_ input: YAMLInput?, directory: String) throws -> TestSettings {
        guard let input else { return TestSettings(reboot: false, policies: [], gate: .info, waivers: nil, variables: [:]) }
        let tests = try input.mapping(allowed: ["reboot", "policies", "gate", "waivers", "variables", "channel", "static_facts"])
        let policies =
            try tests["policies"]?.sequence().map { item -> String in
                let path = resolve(try item.string(), relativeTo: directory)
                try UserFile.check(path, what: "policy file", at: item.location)
                return path
            } ?? []
        var gate = Severity.info
        if let gateInput = tests["gate"] {
            guard let severity = Severity(rawValue: try gateInput.string()) else {
                throw gateInput.error("gate must be a severity: \(Severity.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            gate = severity
        }
        var waivers: String?
        if let waiverInput = tests["waivers"] {
            let path = resolve(try waiverInput.string(), relativeTo: directory)
            try UserFile.check(path, what: "waiver file", at: waiverInput.location)
            waivers = path
        }
        var variables: [String: String] = [:]
        for (key, value) in try tests["variables"]?.freeMapping() ?? [] { variables[key] = try value.string() }
        var channel = Recipe.GuestChannelSetting.auto
        if let channelInput = tests["channel"] {
            guard let choice = Recipe.GuestChannelSetting(rawValue: try channelInput.string()) else {
                throw channelInput.error(
                    "channel must be one of: \(Recipe.GuestChannelSetting.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            channel = choice
        }
        var staticFacts = StaticFactsLocation.image
        if let staticFactsInput = tests["static_facts"] {
            guard let location = FactSource(rawValue: try staticFactsInput.string()), Self.staticFactsChoices.contains(location) else {
                throw staticFactsInput.error(
                    "static_facts must be one of: \(Self.staticFactsChoices.map(\.rawValue).joined(separator: ", "))")
            }
            staticFacts = location
        }
        return TestSettings(
            reboot: try tests["reboot"]?.bool() ?? false, policies: policies, gate: gate, waivers: waivers,
            variables: variables, variablesLocation: tests["variables"]?.location, channel: channel, staticFacts: staticFacts)
    }

    private static func parseBuild(_ input: YAMLInput?) throws -> BuildSettings {
        guard let input else { return BuildSettings() }
        let build = try input.mapping(allowed: ["network", "environment", "source_date_epoch", "initramfs", "package_lists"])
        var settings = BuildSettings()
        settings.network = try build["network"]?.bool() ?? true
        if let epochInput = build["source_date_epoch"] {
            guard let epoch = Int(try epochInput.string()), epoch >= 0 else {
                throw epochInput.error(
                    "source_date_epoch must be a number of seconds since 1970-01-01 UTC, got '\(try epochInput.string())'")
            }
            settings.sourceDateEpoch = epoch
        }
        if let initramfsInput = build["initramfs"] {
            let text = try initramfsInput.string()
            guard let modules = InitramfsModules(rawValue: text) else {
                throw initramfsInput.error(
                    "initramfs must be one of: \(InitramfsModules.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            settings.initramfs = modules
        }
        if let listsInput = build["package_lists"] {
            let text = try listsInput.string()
            guard let policy = PackageListsPolicy(rawValue: text) else {
                throw listsInput.error(
                    "package_lists must be one of: \(PackageListsPolicy.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            settings.packageLists = policy
        }
        for (name, value) in try build["environment"]?.freeMapping() ?? [] {
            guard name.range(of: #"^[A-Za-z_][A-Za-z0-9_]*$"#, options: .regularExpression) != nil else {
                throw value.error("'\(name)' is not an environment variable name (letters, digits, '_')")
            }
            settings.environment[name] = try value.string()
        }
        return settings
    }

    private static func parseEvidence(_ input: YAMLInput?, directory: String) throws -> EvidenceSettings {
        guard let input else { return EvidenceSettings() }
        let evidence = try input.mapping(allowed: ["signing_key", "junit"])
        var settings = EvidenceSettings()
        if let keyInput = evidence["signing_key"] {
            let path = resolve(try keyInput.string(), relativeTo: directory)
            try UserFile.check(path, what: "signing key", at: keyInput.location)
            settings.signingKey = path
        }
        if let junitInput = evidence["junit"] {
            guard let flavour = JUnitFlavour(rawValue: try junitInput.string()) else {
                throw junitInput.error("junit must be standard or rich")
            }
            settings.junit = flavour
        }
        return settings
    }

    private static func parseOutputs(_ input: YAMLInput?) throws -> [OutputFormat] {
        guard let input else { return [.qcow2] }
        let outputs = try input.sequence().map { item in
            guard let format = OutputFormat(rawValue: try item.string()) else {
                throw item.error(
                    "unsupported output '\(try item.string())'; expected one of: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return format
        }
        guard !outputs.isEmpty else { throw input.error("outputs must name at least one format") }
        for (index, format) in outputs.enumerated() where outputs[..<index].contains(format) {
            throw try input.sequence()[index].error("output '\(format.rawValue)' is named twice")
        }
        // Tar and OCI are derived from the tree of a disk that is booted and tested; alone they would be untested.
        guard outputs.contains(where: { $0.disk != nil }) else {
            throw input.error("outputs must include a disk (raw or qcow2): tar and oci are derived from the tree of the tested disk")
        }
        return outputs
    }

    private static func parseDisk(_ input: YAMLInput?) throws -> DiskSettings {
        guard let input else { return DiskSettings(sizeBytes: 4 << 30) }
        let disk = try input.mapping(allowed: ["size", "compress"])
        let compress = try disk["compress"]?.bool() ?? false
        guard let sizeInput = disk["size"] else { return DiskSettings(sizeBytes: 4 << 30, compress: compress) }
        let text = try sizeInput.string()
        guard let bytes = parseSize(text) else {
            if text.range(of: #"^[0-9]+(GiB|MiB|G|M|K)?$"#, options: .regularExpression) != nil {
                throw sizeInput.error("disk size must be at most 16T, got '\(text)'")
            }
            throw sizeInput.error("size must be a number with an optional M or G suffix (e.g. 4G), got '\(try sizeInput.string())'")
        }
        guard bytes >= 256 << 20 else { throw sizeInput.error("disk size must be at least 256M") }
        guard bytes <= maximumDiskSize else {
            throw sizeInput.error("disk size must be at most 16T (ext4's limit with 4 KiB blocks), got '\(text)'")
        }
        return DiskSettings(sizeBytes: bytes, compress: compress)
    }
}

/// The longest recipe name: a file name under `images/` and `reports/`, with room to spare.
let maximumNameLength = 64

/// Debian's codenames (buzz to forky, and sid) and suite names, as mmdebstrap takes them.
let debianSuites = [
    "oldoldstable", "oldstable", "stable", "testing", "unstable", "buzz", "rex", "bo", "hamm", "slink",
    "potato", "woody", "sarge", "etch", "lenny", "squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye", "bookworm",
    "trixie", "forky", "duke", "sid",
]

/// The largest disk a recipe may ask for.
let maximumDiskSize: UInt64 = 16 << 40

/// `512M`, `4G`, `4GiB` or a byte count; nil when it is none of these or does not fit 64 bits.
public func parseSize(_ text: String) -> UInt64? {
    let units: [(String, UInt64)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
    for (suffix, multiplier) in units where text.hasSuffix(suffix) {
        guard let count = UInt64(text.dropLast(suffix.count)) else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
    return UInt64(text)
}

/// Makes `path` absolute against the current directory, as users give paths on the command line.
public func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

/// Resolves a path written inside a file against that file's directory.
public func resolve(_ path: String, relativeTo directory: String) -> String {
    let joined = path.hasPrefix("/") ? path : directory + "/" + path
    return URL(fileURLWithPath: joined).standardizedFileURL.path
}

extension Recipe {
    /// sha256 over everything an image is made from: the parent, each component's bytes and
    /// parameters (in order), the outputs, the disk and the build settings. Not the tests or
    /// evidence sections, so a changed policy or gate can be tested on the image already built.
    public func buildDigest(components: [Component]) -> String {
        struct BuildInputs: Encodable {
            var name, version, suite, variant: String
            var packages: [String]
            var mirror: String?
            var components: [ComponentInputs]
            var outputs: [String]
            var diskBytes: UInt64
            // Optional and nil by default, so images built before these settings keep their digest.
            var compress: Bool?
            var sourceDateEpoch: Int?
            var network: Bool
            var environment: [String: String]
            var initramfs: String
            var parent: String?
            var packageLists: String?
        }
        struct ComponentInputs: Encodable {
            var sha256: String
            var parameters: [String: String]
        }
        var debian = DebianParent(suite: "", packages: [], mirror: nil, variant: "")
        // nil for a Debian suite, so images built before other parents existed keep their digest.
        var otherParent: String?
        switch parent {
        case .debian(let suite): debian = suite
        case .tarball(let path): otherParent = "tarball:" + path
        case .disk(let path): otherParent = "disk:" + path
        case .image(let image): otherParent = "image:\(image.name) \(image.version)"
        }
        let inputs = BuildInputs(
            name: name, version: version.description, suite: debian.suite, variant: debian.variant, packages: debian.packages,
            mirror: debian.mirror,
            components: zip(components, self.components).map { ComponentInputs(sha256: $0.digest, parameters: $1.parameters) },
            outputs: outputs.map(\.rawValue), diskBytes: disk.sizeBytes, compress: disk.compress ? true : nil,
            sourceDateEpoch: build.sourceDateEpoch, network: build.network, environment: build.environment,
            initramfs: build.initramfs.rawValue, parent: otherParent,
            packageLists: build.packageLists == .remove ? nil : build.packageLists.rawValue)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding strings, numbers and dictionaries of strings cannot fail.
        return Digest.sha256((try? encoder.encode(inputs)) ?? Data())
    }
}
