import ArgumentParser
import Catalog
import Foundation
import HallmarkSupport

/// `hallmark images`: the catalog of built, tested and released images.
struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", abstract: "List and show the builds in the catalog ($HALLMARK_HOME/catalog.sqlite).",
        subcommands: [List.self, Show.self])
}

/// Opens the catalog of `$HALLMARK_HOME` and says on stderr what opening it changed.
func openCatalog(console: Console = Console(quiet: false)) async throws -> Catalog {
    let (catalog, housekeeping) = try await Catalog.open(home: HallmarkHome.fromEnvironment())
    if !housekeeping.imported.isEmpty {
        console.info(
            "catalog: imported \(housekeeping.imported.count) build(s) from the image store: \(housekeeping.imported.joined(separator: ", "))"
        )
    }
    for build in housekeeping.interrupted { console.warning("catalog: \(build) was interrupted (its process is gone); marked FAILED") }
    for build in housekeeping.redistributionsInterrupted {
        console.warning("catalog: the distribution of \(build) was interrupted (its process is gone); AVAILABLE again, re-run distribute")
    }
    return catalog
}

/// A date as the tables print it: UTC, to the second.
func catalogDate(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

/// Rows under a header, each column as wide as its widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    for row in [header] + rows {
        let cells = row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
        }
        print(cells.joined(separator: "  "))
    }
}

extension ImagesCommand {
    /// `hallmark images list`: every build, or every build of one image.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the catalog's builds: image, version, build, state, last change.")

        @Argument(help: "Only this image's builds.") var image: String?
        @OptionGroup var output: JSONOutputOption

        func run() async throws {
            try await runReportingErrors {
                let catalog = try await openCatalog()
                let builds = try await catalog.builds(image: image)
                if output.json {
                    try printJSON(["builds": builds])
                    return .gateOpen
                }
                guard !builds.isEmpty else {
                    print(image.map { "no builds of \($0) in the catalog" } ?? "no builds in the catalog")
                    return .gateOpen
                }
                printTable(
                    ["IMAGE", "VERSION", "BUILD", "STATE", "SINCE"],
                    builds.map { [$0.image, $0.version, "\($0.number)", $0.state.rawValue, catalogDate($0.updatedAt)] })
                return .gateOpen
            }
        }
    }

    /// `hallmark images show NAME[@VERSION]`: one build with its history.
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one build: its states, test runs and distributions.",
            discussion: """
                NAME alone, or NAME@x.x.x, NAME@1.x.x, NAME@1.2.x, NAME@1.2.0 means the newest AVAILABLE \
                build that matches; NAME@1.2.0/7 means build 7 of 1.2.0 in whatever state it is.
                """)

        @Argument(help: ArgumentHelp("The build.", valueName: "NAME[@VERSION[/BUILD]]")) var selector: String
        @OptionGroup var output: JSONOutputOption

        func run() async throws {
            try await runReportingErrors {
                let selector = try BuildSelector(parsing: selector)
                let catalog = try await openCatalog()
                let history = try await catalog.history(of: try await catalog.resolve(selector))
                if output.json {
                    try printJSON(history)
                    return .gateOpen
                }
                let build = history.build
                print("\(build.reference): \(build.state.rawValue)")
                print("directory: \(build.directory)")
                if let digest = build.buildDigest { print("build digest: \(digest)") }
                if let parent = build.parent { print("parent: \(parent)") }
                print("states:")
                for change in history.states {
                    print("  \(catalogDate(change.at))  \(change.state.rawValue)" + (change.note.map { "  (\($0))" } ?? ""))
                }
                print("test runs:" + (history.testRuns.isEmpty ? " none" : ""))
                for run in history.testRuns {
                    print(
                        "  \(catalogDate(run.at))  \(run.verdict)  report \(run.reportDigest ?? "-")  envelope \(run.envelopeDigest ?? "-")"
                    )
                }
                print("distributions:" + (history.distributions.isEmpty ? " none" : ""))
                for distribution in history.distributions {
                    print(
                        "  \(catalogDate(distribution.at))  \(distribution.state)  \(distribution.target)"
                            + (distribution.detail.map { "  (\($0))" } ?? ""))
                }
                return .gateOpen
            }
        }
    }
}
