// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Hallmark",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hallmark", targets: ["hallmark"]),
        .executable(name: "hallmark-sandbox", targets: ["hallmark-sandbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        // SQLite for the catalog: migrations, transactions of a chosen kind, WAL for readers beside one writer.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Thin executable: parses the command line and hands over to HallmarkCLI.
        .executableTarget(name: "hallmark", dependencies: ["HallmarkCLI"]),

        // Runs a program of an untrusted root filesystem with nothing of the host reachable: pivot_root
        // into it, its own /dev and /proc, only the capabilities asked for, a clean environment. In C,
        // because it changes root and drops capabilities between raw system calls Swift cannot make.
        .executableTarget(name: "hallmark-sandbox"),

        // Command definitions (ArgumentParser), exit codes, progress output.
        .target(
            name: "HallmarkCLI",
            dependencies: [
                "Pipeline", "HallmarkModel", "HallmarkSupport", "Compliance", "ImageBuild", "ImageStore", "ImageFacts", "VirtualMachine",
                "Attestation", "Catalog", "Distribution", "Evidence", "Lifecycle",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Shared foundation: error type with domain codes (the CLI maps them to exit codes), host command execution, digests.
        .target(name: "HallmarkSupport", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // Recipe, TOE component, policy and waiver models, loaded from YAML with file:line:column errors.
        .target(name: "HallmarkModel", dependencies: ["HallmarkSupport", "Yams"]),

        // The image store in $HALLMARK_HOME/images: built images, their image.json, build numbers.
        // The catalog of tested and released images extends it.
        .target(name: "ImageStore", dependencies: ["HallmarkSupport"]),

        // The catalog of tested and released images, on top of the store: SQLite under $HALLMARK_HOME
        // (GRDB), versions with build numbers, states with timestamps, test runs, distributions.
        .target(
            name: "Catalog",
            dependencies: ["ImageStore", "HallmarkModel", "HallmarkSupport", .product(name: "GRDB", package: "GRDB.swift")]),

        // The release gate (verify the exact files, then ship) and distribution targets: every file whole or not at all.
        .target(name: "Distribution", dependencies: ["Attestation", "HallmarkSupport"]),

        // Retiring builds by count and age: deprecate, then delete the store's and directory targets' copies it owns.
        .target(name: "Lifecycle", dependencies: ["Catalog", "Distribution", "ImageStore", "HallmarkModel", "HallmarkSupport"]),

        // Image build: mmdebstrap parent cache, components in a chroot, raw/qcow2 disks.
        .target(name: "ImageBuild", dependencies: ["HallmarkModel", "HallmarkSupport", "ImageStore"]),

        // Byte-stream Unix socket with deadlines; shared by the protocol clients.
        .target(name: "SocketIO"),
        // QEMU Machine Protocol client. Imports nothing from the project above SocketIO.
        .target(name: "QMP", dependencies: ["SocketIO"]),
        // What a way into a guest offers (exec with stdin, environment, separate output) and its result.
        .target(name: "GuestChannel"),
        // QEMU guest agent client. Imports nothing from the project above SocketIO and GuestChannel.
        .target(name: "GuestAgent", dependencies: ["SocketIO", "GuestChannel"]),
        // The fallback channel: a root shell on a virtio console port, framed base64 output.
        .target(name: "ConsoleShell", dependencies: ["SocketIO", "GuestChannel"]),

        // A running QEMU: process, accelerator choice, guest channel, reboot, teardown.
        .target(
            name: "VirtualMachine", dependencies: ["QMP", "GuestAgent", "ConsoleShell", "GuestChannel", "SocketIO", "HallmarkSupport"]),

        // Pure compliance engine: collector generation, fact parsing, evaluation, gate.
        .target(name: "Compliance", dependencies: ["HallmarkModel", "HallmarkSupport"]),

        // Static facts read from an image on the host (mounted read-only in a private namespace), no boot.
        .target(name: "ImageFacts", dependencies: ["Compliance", "HallmarkSupport"]),

        // libxml2, kept to one small C surface.
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        // JUnit XML writer and XML Schema validation on libxml2.
        .target(name: "JUnitXML", dependencies: ["CLibXML2"]),

        // Reports: report.json, junit.xml, summary.md.
        .target(name: "Evidence", dependencies: ["Compliance", "HallmarkModel", "HallmarkSupport", "JUnitXML"]),

        // Signed evidence: Ed25519 keys (PKCS#8 / SPKI PEM), in-toto statements in DSSE envelopes, verification.
        .target(name: "Attestation", dependencies: ["HallmarkSupport", .product(name: "Crypto", package: "swift-crypto")]),

        // Chains build → boot → facts → evaluate → report.
        .target(
            name: "Pipeline",
            dependencies: [
                "HallmarkModel", "ImageBuild", "ImageStore", "VirtualMachine", "GuestChannel", "Compliance", "ImageFacts", "Evidence",
                "HallmarkSupport", "Attestation", "JUnitXML", "Catalog",
            ]),

        // Helpers the test targets share: running the built binary, report.json as a reader sees it,
        // scratch directories, fixtures, schema checks, and the tags that say what a test needs.
        .target(name: "HallmarkTestSupport", dependencies: ["HallmarkSupport", "JUnitXML"], path: "Tests/HallmarkTestSupport"),

        .testTarget(name: "HallmarkModelTests", dependencies: ["HallmarkModel", "HallmarkSupport", "Compliance", "HallmarkTestSupport"]),
        .testTarget(name: "ComplianceTests", dependencies: ["Compliance", "HallmarkModel", "HallmarkSupport", "HallmarkTestSupport"]),
        .testTarget(name: "ProtocolTests", dependencies: ["QMP", "GuestAgent", "ConsoleShell", "GuestChannel", "SocketIO"]),
        .testTarget(name: "JUnitXMLTests", dependencies: ["JUnitXML", "HallmarkTestSupport"]),
        .testTarget(
            name: "ImageBuildTests", dependencies: ["ImageBuild", "ImageStore", "HallmarkModel", "HallmarkSupport", "HallmarkTestSupport"]),
        .testTarget(name: "AttestationTests", dependencies: ["Attestation", "HallmarkSupport", "HallmarkTestSupport"]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "ImageStore", "HallmarkSupport", "HallmarkTestSupport"]),
        // Takes build numbers from the catalog in a process of its own, so that a test can race real processes.
        .executableTarget(name: "catalog-claimer", dependencies: ["Catalog", "HallmarkSupport"], path: "Tests/CatalogClaimer"),
        .testTarget(
            name: "LifecycleTests",
            dependencies: ["Lifecycle", "Catalog", "Distribution", "ImageStore", "HallmarkSupport", "HallmarkTestSupport"]),
        .testTarget(name: "DistributionTests", dependencies: ["Distribution", "Attestation", "HallmarkSupport", "HallmarkTestSupport"]),
        .testTarget(name: "KeptMachineTests", dependencies: ["VirtualMachine", "HallmarkSupport"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "Evidence", "Attestation", "Compliance", "HallmarkModel", "HallmarkSupport", "ImageStore",
                "HallmarkTestSupport", "Catalog",
            ]),
        // Command lines parsed as the CLI parses them, and exit codes: no process started.
        .testTarget(
            name: "HallmarkCLITests",
            dependencies: [
                "HallmarkCLI", "HallmarkSupport", "HallmarkModel", "Compliance", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "EvidenceTests",
            dependencies: ["Evidence", "Compliance", "HallmarkModel", "HallmarkSupport", "HallmarkTestSupport", "JUnitXML"]),
        // The real binary without a VM or a built image: part of `make test-fast`. Yams reads docs/ci's CI files.
        .testTarget(
            name: "CommandLineTests",
            dependencies: ["HallmarkSupport", "HallmarkTestSupport", "Catalog", "Attestation", "ImageStore", "Yams"]),
        // Everything that builds an image or boots a VM, and nothing else: `make test-fast` skips this target.
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["HallmarkSupport", "HallmarkTestSupport", "VirtualMachine", "ImageBuild", "ImageStore", "HallmarkModel"]),
        // The QEMU command line, the VM's lifecycle and the child-process owner; nothing here boots a VM.
        .testTarget(name: "VirtualMachineUnitTests", dependencies: ["VirtualMachine", "GuestChannel", "HallmarkSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
