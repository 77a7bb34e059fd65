import Foundation
import HallmarkModel
import HallmarkSupport

/// A Debian package: installed or not, and the installed version against a constraint; or a
/// family of packages by the virtual package they provide (`telnet-server`, `mail-transport-agent`),
/// the way dpkg satisfies a dependency: installed if any installed package is or provides it.
public struct PackageCheck: Resource {
    public var name: String
    /// `name` is a virtual package: match every installed package that provides it.
    public var provided: Bool = false
    public var installed: Bool
    /// When set, the installed version must satisfy it (Debian version ordering).
    public var version: VersionConstraint?

    public init(name: String, installed: Bool = true, version: VersionConstraint? = nil) {
        self.name = name
        self.installed = installed
        self.version = version
    }

    public static let kind = ResourceKind.package

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["name", "provides", "installed", "version"])
        let installed = try fields["installed"]?.bool() ?? true
        if let provides = fields["provides"] {
            guard fields["name"] == nil, fields["version"] == nil else {
                throw provides.error("provides names a virtual package: use it without name and version")
            }
            self.init(name: try provides.packageName(), installed: installed)
            provided = true
            return
        }
        var constraint: VersionConstraint?
        if let versionInput = fields["version"] {
            guard installed else { throw versionInput.error("a version constraint needs 'installed: true'") }
            guard let parsed = VersionConstraint(try versionInput.string()) else {
                throw versionInput.error(
                    "version must be a constraint such as \">= 1:9.2\" (operators >=, <=, >>, <<, >, <, =, !=; several joined by commas), got '\(try versionInput.string())'"
                )
            }
            constraint = parsed
        }
        self.init(name: try fields.required("name").packageName(), installed: installed, version: constraint)
    }

    public var probes: [Probe] { [provided ? Self.provides : Self.packages] }

    static let provides = Probe(
        key: "package-provides", script: "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Provides}\\n'",
        execution: .subshell(cost: 6))

    /// Installed packages that are or provide `name`, from "package<TAB>status<TAB>provides" lines.
    func providers(_ output: ProbeOutput) -> Outcome {
        guard output.exitCode == 0 else { return Outcome(.error, "dpkg-query failed", excerpt(output.stderr)) }
        var listed = 0
        var providers: [String] = []
        for line in output.stdout.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[0].isEmpty else {
                return Outcome(.error, "unexpected dpkg-query output", excerpt(String(line)))
            }
            listed += 1
            guard fields[1].hasPrefix("ii") else { continue }
            // "telnet-server, foo (= 1.0)": names, each with an optional version.
            let provided = fields[2].split(separator: ",").map { trimmed($0.prefix { $0 != "(" }, \.isWhitespace) }
            if fields[0] == name || provided.contains(Substring(name)) { providers.append(String(fields[0])) }
        }
        guard listed > 0 else { return Outcome(.error, "dpkg-query listed no packages", excerpt(output.stderr)) }
        let evidence =
            providers.isEmpty ? "no installed package provides \(name)" : "\(name) provided by \(providers.joined(separator: ", "))"
        switch (installed, providers.isEmpty) {
        case (true, false), (false, true): return Outcome(.pass, evidence, evidence)
        case (true, true): return Outcome(.fail, "no installed package is or provides \(name)", evidence)
        case (false, false):
            return Outcome(.fail, "\(providers.joined(separator: ", ")) provides \(name), which must not be installed", evidence)
        }
    }

    static let packages = Probe(
        key: "packages", script: "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'",
        execution: .subshell(cost: 6))

    public func evaluate(_ facts: Facts) -> Outcome {
        if provided { return providers(facts.output(Self.provides)) }
        let package = self, output = facts.output(Self.packages)
        guard output.exitCode == 0 else { return Outcome(.error, "dpkg-query failed", excerpt(output.stderr)) }
        // One "name<TAB>status<TAB>version" line per package (a multi-arch package has one per architecture).
        var entries: [[String]] = []
        for line in output.stdout.split(separator: "\n") where !line.allSatisfy(\.isWhitespace) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[0].isEmpty else {
                return Outcome(.error, "unexpected dpkg-query output", excerpt(String(line)))
            }
            entries.append(fields)
        }
        // No package at all is no package database, not an image without the package.
        guard !entries.isEmpty else { return Outcome(.error, "dpkg-query listed no packages", excerpt(output.stderr)) }
        let named = entries.filter { $0[0] == package.name }
        let fields = named.first { $0[1].hasPrefix("ii") } ?? named.first ?? []
        let installed = fields.count == 3 && fields[1].hasPrefix("ii")
        let evidence = installed ? "\(package.name) \(fields[2]) installed" : "\(package.name) not installed"
        switch (package.installed, installed) {
        case (true, true):
            guard let constraint = package.version else { return Outcome(.pass, evidence, evidence) }
            guard let version = DebianVersion(fields[2]) else {
                return Outcome(.error, "cannot parse the installed version '\(fields[2])'", evidence)
            }
            return constraint.isSatisfied(by: version)
                ? Outcome(.pass, "\(package.name) \(version) satisfies \(constraint)", evidence)
                : Outcome(.fail, "\(package.name) \(version) does not satisfy \(constraint)", evidence)
        case (false, false): return Outcome(.pass, evidence, evidence)
        case (true, false): return Outcome(.fail, "\(package.name) is not installed but must be", evidence)
        case (false, true): return Outcome(.fail, "\(package.name) is installed but must not be", evidence)
        }
    }
}
