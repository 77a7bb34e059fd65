import ArgumentParser
import HallmarkModel
import HallmarkSupport

/// Options of `policy lint` and `policy test`: variable overrides and a waiver file.
struct PolicyOptions: ParsableArguments {
    @Option(name: .customLong("var"), help: ArgumentHelp("Override a policy variable (repeatable).", valueName: "name=value"))
    var variables: [String] = []

    @Option(help: "Waiver file to validate against the policies (and apply, for test).")
    var waivers: String?

    func overrides() throws -> [String: String] {
        var result: [String: String] = [:]
        for assignment in variables {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw HallmarkError(.usage, "--var needs name=value, got '\(assignment)'")
            }
            result[parts[0]] = parts[1]
        }
        return result
    }

    func loadWaivers(for policies: [Policy]) throws -> Waivers? {
        guard let waivers else { return nil }
        let loaded = try Waivers.load(path: absolutePath(waivers))
        try loaded.validate(against: policies.flatMap { $0.controls.map(\.id) })
        return loaded
    }
}
