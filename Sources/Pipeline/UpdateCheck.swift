import Catalog
import Foundation
import HallmarkModel
import HallmarkSupport
import ImageStore

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A suite of a Debian archive whose `Packages` index may hold newer versions of the parent's packages.
public struct PackageSource: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The archive's root: `http://deb.debian.org/debian`, `file:///srv/mirror`.
    public var url: String
    public var suite: String
    public var component: String

    public init(url: String, suite: String, component: String = "main") {
        (self.url, self.suite, self.component) = (url, suite, component)
    }

    /// The suites a Debian parent takes updates from: its suite and `-updates` on its mirror, and
    /// `-security` on the security archive (Debian publishes security updates there and nowhere else).
    public static func defaults(for parent: Recipe.DebianParent) -> [PackageSource] {
        let mirror = parent.mirror ?? "http://deb.debian.org/debian"
        return [
            PackageSource(url: mirror, suite: parent.suite), PackageSource(url: mirror, suite: parent.suite + "-updates"),
            PackageSource(url: "http://security.debian.org/debian-security", suite: parent.suite + "-security"),
        ]
    }

    public var description: String { "\(url) \(suite)/\(component)" }

    /// `dists/<suite>/<component>/binary-amd64/Packages`, plain or gzipped.
    func indexURL(compressed: Bool) -> String {
        let root = url.hasSuffix("/") ? String(url.dropLast()) : url
        return root + "/dists/\(suite)/\(component)/binary-amd64/Packages" + (compressed ? ".gz" : "")
    }

    /// The newest version of each package in the suite's index.
    public func fetchVersions() async throws -> [String: DebianVersion] {
        if let plain = try await Self.read(indexURL(compressed: false)) {
            return PackageIndex.versions(in: String(decoding: plain, as: UTF8.self))
        }
        guard let gzipped = try await Self.read(indexURL(compressed: true)) else {
            throw HallmarkError(.hostFailure, "\(self) has no Packages or Packages.gz index (\(indexURL(compressed: false)))")
        }
        let path = try HallmarkHome.fromEnvironment().temporaryFile(suffix: ".gz")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try gzipped.write(to: URL(fileURLWithPath: path))
        return PackageIndex.versions(in: try await HostCommand(try HostTool.gzip.resolve(), ["-dc", path]).output())
    }

    /// A file of a file:// or http(s):// archive; nil when it is not there.
    static func read(_ address: String) async throws -> Data? {
        guard let url = URL(string: address) else { throw HallmarkError(.usage, "'\(address)' is not a URL") }
        if url.isFileURL {
            return FileManager.default.contents(atPath: url.path)
        }
        do {
            let (data, response) = try await URLSession.shared.data(from: url)
            guard (response as? HTTPURLResponse)?.statusCode == 200 else { return nil }
            return data
        } catch {
            throw HallmarkError(.hostFailure, "cannot read \(address)", cause: error)
        }
    }
}

/// A Debian `Packages` index: stanzas of `Field: value` lines separated by blank lines.
public enum PackageIndex {
    public static func versions(in text: String) -> [String: DebianVersion] {
        var newest: [String: DebianVersion] = [:]
        for stanza in text.components(separatedBy: "\n\n") {
            var name: String?, version: DebianVersion?
            for line in stanza.split(separator: "\n") {
                if line.hasPrefix("Package:") { name = line.dropFirst(8).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("Version:") { version = DebianVersion(line.dropFirst(8).trimmingCharacters(in: .whitespaces)) }
            }
            guard let name, let version else { continue }
            if newest[name].map({ version > $0 }) ?? true { newest[name] = version }
        }
        return newest
    }
}

/// Why a pipeline would build now (`--if-updates`), or nothing when it would not: compared with the
/// newest AVAILABLE build and its last passing test.
public enum UpdateCheck {
    public static func reasons(
        newest: CatalogBuild?, lastTest: TestRun?, image: ImageArtifacts?, buildDigest: String, inputsDigest: String,
        indexes: [(source: PackageSource, versions: [String: DebianVersion])]
    ) -> [String] {
        guard let newest else { return ["no AVAILABLE build yet"] }
        var reasons: [String] = []
        if newest.buildDigest != buildDigest {
            reasons.append(
                "the recipe or a component changed since \(newest.reference) (build digest \(newest.buildDigest ?? "none") → \(buildDigest))"
            )
        } else if lastTest?.inputsDigest != inputsDigest {
            reasons.append(
                lastTest == nil
                    ? "\(newest.reference) has no passing test"
                    : "a policy or waiver changed since \(newest.reference) was tested (inputs digest \(lastTest?.inputsDigest ?? "none") → \(inputsDigest))"
            )
        }
        let installed = (image?.packages ?? []).compactMap { line -> (String, DebianVersion)? in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let version = DebianVersion(parts[1]) else { return nil }
            // dpkg lists multi-arch packages as `name:arch`; the index names them without.
            return (String(parts[0].split(separator: ":")[0]), version)
        }
        for (source, versions) in indexes {
            for (name, version) in installed.sorted(by: { $0.0 < $1.0 }) {
                if let available = versions[name], available > version {
                    reasons.append("\(name) \(version) → \(available) in \(source.suite)")
                }
            }
        }
        return reasons
    }
}

extension UpdateCheck {
    /// What `--if-updates` finds for a pipeline: the newest AVAILABLE build of its recipe's image
    /// (any version), its last passing test, and the suites' indexes against its installed packages.
    public static func reasons(for definition: PipelineDefinition, catalog: Catalog) async throws -> (
        newest: CatalogBuild?, reasons: [String]
    ) {
        let loaded = try LoadedRecipe.load(path: definition.recipe)
        let newest: CatalogBuild?
        do {
            newest = try await catalog.resolve(BuildSelector(parsing: loaded.recipe.name + "@x.x.x"))
        } catch let error as HallmarkError where error.code == .usage {
            newest = nil
        }
        var lastTest: TestRun?
        var image: ImageArtifacts?
        var indexes: [(source: PackageSource, versions: [String: DebianVersion])] = []
        if let newest {
            lastTest = try await catalog.history(of: newest).testRuns.last { $0.verdict == "pass" }
            image = try? ImageArtifacts.load(directory: newest.directory)
            let sources: [PackageSource]
            if let configured = definition.updateSources {
                sources = configured.map { PackageSource(url: $0.url, suite: $0.suite) }
            } else if case .debian(let parent) = loaded.recipe.parent {
                sources = PackageSource.defaults(for: parent)
            } else {
                sources = []
            }
            for source in sources { indexes.append((source, try await source.fetchVersions())) }
        }
        return (
            newest,
            reasons(
                newest: newest, lastTest: lastTest, image: image, buildDigest: loaded.recipe.buildDigest(components: loaded.components),
                inputsDigest: loaded.inputsDigest, indexes: indexes)
        )
    }
}
