import ArgumentParser
import HallmarkSupport
import VirtualMachine

/// `hallmark stop`: ends a kept VM.
struct StopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop a test VM kept with --keep-vm-on-failure (or --all of them).")

    @Argument(help: "The kept VM's id.") var run: String?
    @Flag(help: "Stop every kept VM.") var all = false
    @OptionGroup var output: JSONOutputOption

    /// One stopped VM as `--json` lists it.
    struct Stopped: Encodable {
        var id: String
        var name: String
    }

    func validate() throws {
        guard (run == nil) != !all else { throw ValidationError("name one kept VM or pass --all") }
    }

    func run() async throws {
        try await runReportingErrors {
            let home = HallmarkHome.fromEnvironment()
            let machines = all ? KeptMachine.all(home: home) : [try KeptMachine.load(home: home, id: run!)]
            // One refusal does not keep the others running; it still fails the command.
            var refusal: (any Error)?
            var stopped: [Stopped] = []
            for machine in machines {
                do {
                    try await machine.stop()
                    stopped.append(.init(id: machine.id, name: machine.name))
                    if !output.json { print("stopped \(machine.id) (\(machine.name))") }
                } catch {
                    refusal = refusal ?? error
                }
            }
            if output.json { try printJSON(["stopped": stopped]) }
            if let refusal { throw refusal }
            return .gateOpen
        }
    }
}
