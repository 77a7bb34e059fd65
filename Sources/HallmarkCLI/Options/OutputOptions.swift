import ArgumentParser
import HallmarkModel
import HallmarkSupport

/// Where a stage writes its logs and reports, and how much it prints: build, test and run.
struct OutputOptions: ParsableArguments {
    @Option(name: .customLong("reports"), help: "Directory for reports and build logs: <dir>/<image>/<version>-<build>/.")
    var reportsDirectory = "reports"

    @Flag(name: .shortAndLong, help: "Print only warnings, errors and the verdict.")
    var quiet = false
}
