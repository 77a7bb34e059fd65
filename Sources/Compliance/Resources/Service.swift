import Foundation
import HallmarkModel
import HallmarkSupport

/// A systemd unit: enabled at boot, active now.
public struct ServiceCheck: Resource {
    public var name: String
    public var enabled: Bool?
    public var active: Bool?

    public init(name: String, enabled: Bool? = nil, active: Bool? = nil) {
        self.name = name
        self.enabled = enabled
        self.active = active
    }

    public static let kind = ResourceKind.service

    public init(yaml body: YAMLInput) throws {
        let fields = try body.mapping(allowed: ["name", "enabled", "active"])
        guard fields["enabled"] != nil || fields["active"] != nil else { throw body.error("service check needs 'enabled' or 'active'") }
        self.init(name: try fields.required("name").string(), enabled: try fields["enabled"]?.bool(), active: try fields["active"]?.bool())
    }

    public var probes: [Probe] { [Self.probe(name)] }

    /// Alone it asks systemctl is-enabled and is-active; in the collector one `systemctl show`
    /// answers every unit (`ServiceBatch`), in the same "enabled=…\nactive=…" shape.
    static func probe(_ name: String) -> Probe {
        Probe(
            key: ProbeKey("service", name),
            script:
                "echo \"enabled=$(systemctl is-enabled \(shellQuoted(name)) 2>/dev/null)\"; echo \"active=$(systemctl is-active \(shellQuoted(name)) 2>/dev/null)\"",
            runtime: true, execution: .batched(Probe.Batch(ServiceBatch.self, member: name)))
    }

    public func evaluate(_ facts: Facts) -> Outcome {
        let service = self, output = facts.output(Self.probe(name))
        // An empty answer is not "disabled and inactive": systemctl must have answered for this unit.
        guard output.exitCode == 0 else {
            return Outcome(
                .error, "systemctl could not report \(service.name) (exit \(output.exitCode))", excerpt(output.stderr + output.stdout))
        }
        var states: [String: String] = [:]
        for line in lines(output.stdout) {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard pair.count == 2, ["enabled", "active"].contains(pair[0]), states[pair[0]] == nil else {
                return Outcome(.error, "unexpected systemctl output for \(service.name)", excerpt(output.stdout))
            }
            states[pair[0]] = pair[1]
        }
        guard let enabled = states["enabled"], let active = states["active"], !active.isEmpty else {
            return Outcome(.error, "systemctl did not report the state of \(service.name)", excerpt(output.stdout + output.stderr))
        }
        let evidence = "\(service.name): is-enabled=\(enabled.isEmpty ? "(none)" : enabled) is-active=\(active)"
        var problems: [String] = []
        if let expected = service.enabled, expected != ["enabled", "enabled-runtime", "static", "alias"].contains(enabled) {
            problems.append(expected ? "not enabled" : "enabled but must not be")
        }
        if let expected = service.active, expected != (active == "active") {
            problems.append(expected ? "not active" : "active but must not be")
        }
        return problems.isEmpty
            ? Outcome(.pass, evidence, evidence) : Outcome(.fail, "\(service.name) is " + problems.joined(separator: " and "), evidence)
    }
}

/// One `systemctl show` for every unit.
enum ServiceBatch: ProbeBatch {
    static let cost = 4

    static func script(members: [String]) -> String {
        "systemctl show --property=UnitFileState,ActiveState -- \(members.map(shellQuoted).joined(separator: " "))"
    }

    static func split(_ output: ProbeOutput, members: [String]) -> [ProbeOutput] {
        // `systemctl show` prints one block per unit, in argument order, separated by blank
        // lines, each with exactly the two properties asked for.
        let blocks = output.stdout.components(separatedBy: "\n\n").compactMap { block -> [String: String]? in
            let lines = block.split(separator: "\n")
            guard !lines.isEmpty else { return nil }
            var properties: [String: String] = [:]
            for line in lines {
                let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                properties[pair[0]] = pair.count > 1 ? pair[1] : ""
            }
            return properties
        }
        let wellFormed = blocks.allSatisfy { $0.count == 2 && $0["UnitFileState"] != nil && $0["ActiveState"] != nil }
        return members.indices.map { index in
            guard output.exitCode == 0, blocks.count == members.count, wellFormed else {
                return ProbeOutput(
                    exitCode: output.exitCode == 0 ? 1 : output.exitCode, stdout: "",
                    stderr: "systemctl show: \(output.stderr.isEmpty ? "unexpected output" : output.stderr)")
            }
            let block = blocks[index]
            return ProbeOutput(
                exitCode: 0, stdout: "enabled=\(block["UnitFileState"] ?? "")\nactive=\(block["ActiveState"] ?? "")\n", stderr: "")
        }
    }
}
