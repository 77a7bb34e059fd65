import ArgumentParser
import Foundation
import HallmarkSupport
import VirtualMachine

/// `hallmark shell`: runs commands in a VM kept with --keep-vm-on-failure, through the guest channel its test used.
struct ShellCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Run commands in a test VM kept with --keep-vm-on-failure (without arguments: list kept VMs).",
        discussion: "With a command after --, runs it and exits with its exit code; otherwise runs each line of stdin.")

    @Argument(help: "The kept VM's id, as printed when it was kept.") var run: String?
    @Argument(parsing: .postTerminator, help: "Command to run in the guest.") var command: [String] = []
    @Flag(help: "With no VM named: list the kept VMs as one JSON object on stdout ({\"keptVMs\": [{id, name, keptAt, consoleLog, pid}]}).")
    var json = false

    /// One kept VM as `--json` lists it.
    struct Listed: Encodable {
        var id: String
        var name: String
        var keptAt: Date
        var consoleLog: String
        var pid: Int32
    }

    func validate() throws {
        // Without a VM the command would be ignored and the kept VMs listed instead.
        guard run != nil || command.isEmpty else {
            throw ValidationError("name the kept VM to run the command in (`hallmark shell` lists them)")
        }
        // The guest's output is passed through as it is; only the listing has a JSON form.
        guard run == nil || !json else { throw ValidationError("--json lists kept VMs; drop it or drop the VM's id") }
    }

    func run() async throws {
        try await runReportingErrors {
            let home = HallmarkHome.fromEnvironment()
            guard let run else {
                let kept = KeptMachine.all(home: home)
                if json {
                    let listed = kept.map { Listed(id: $0.id, name: $0.name, keptAt: $0.keptAt, consoleLog: $0.consoleLog, pid: $0.pid) }
                    try printJSON(["keptVMs": listed])
                    return .gateOpen
                }
                if kept.isEmpty { print("no kept VMs") }
                for machine in kept { print("\(machine.id)\t\(machine.name)\tkept \(machine.keptAt)\tconsole: \(machine.consoleLog)") }
                return .gateOpen
            }
            let machine = try KeptMachine.load(home: home, id: run)
            if !command.isEmpty { return try await execute(command.joined(separator: " "), in: machine) }
            var last = ExitStatus.gateOpen
            while let line = readLine() {
                guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
                last = try await execute(line, in: machine)
            }
            return last
        }
    }

    private func execute(_ command: String, in machine: KeptMachine) async throws -> ExitStatus {
        let result = try await machine.exec(command)
        writeStandardOutput(result.stdout)
        writeStandardError(String(decoding: result.stderr, as: UTF8.self))
        if result.stdoutTruncated || result.stderrTruncated { writeStandardError("hallmark: output was truncated by the guest channel\n") }
        guard let code = result.exitCode, code != 0 else { return .gateOpen }
        throw ExitCode(code)
    }
}
