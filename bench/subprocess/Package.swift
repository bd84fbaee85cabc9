// swift-tools-version:6.1
import PackageDescription

// Measures swift-subprocess 1.0.2 against HostProcess's spawner (issue 16: "build on swift-subprocess where it
// fits; keep the clone fast path only where a benchmark shows it matters"). A package of its own, so evaluating
// the dependency does not put it into vhpc: HostProcess and CHostProcess are the repository's own sources
// (symbolic links). Run with scripts/bench-subprocess.sh.
let package = Package(
    name: "spawn-bench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/swiftlang/swift-subprocess", exact: "1.0.2"),
    ],
    targets: [
        .target(name: "CHostProcess"),
        .target(name: "HostProcess", dependencies: ["CHostProcess"]),
        .executableTarget(name: "spawn-bench", dependencies: [
            "HostProcess",
            .product(name: "Subprocess", package: "swift-subprocess"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
