import Catalog
import Foundation
import HallmarkSupport

// catalog-claimer HOME IMAGE VERSION COUNT: takes COUNT build numbers of IMAGE VERSION from the
// catalog of HOME, one transaction each, makes each AVAILABLE and prints its number on a line.
// `hold` as COUNT takes one, prints it, and then waits to be killed, leaving it BUILDING;
// `hold-distributing` makes it AVAILABLE, then DISTRIBUTING (a re-distribution), and waits the same way.
let arguments = CommandLine.arguments
guard arguments.count == 5 else {
    FileHandle.standardError.write(Data("usage: catalog-claimer HOME IMAGE VERSION COUNT|hold|hold-distributing\n".utf8))
    exit(64)
}
let (catalog, _) = try await Catalog.open(home: HallmarkHome(root: arguments[1]))
if arguments[4].hasPrefix("hold") {
    let build = try await catalog.beginBuild(image: arguments[2], version: arguments[3], buildDigest: nil)
    if arguments[4] == "hold-distributing" {
        try await catalog.setState(catalog.setState(build, .available), .distributing)
    }
    // Unbuffered, so the test reads the number while this process still runs.
    FileHandle.standardOutput.write(Data("\(build.number)\n".utf8))
    while true { try await Task.sleep(for: .seconds(60)) }
}
for _ in 0..<(Int(arguments[4]) ?? 0) {
    let build = try await catalog.beginBuild(image: arguments[2], version: arguments[3], buildDigest: nil)
    try await catalog.setState(build, .available)
    print(build.number)
}
