// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "vhpc",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vhpc", targets: ["vhpc"]),
        .executable(name: "vhpc-agent", targets: ["vhpc-agent"]),
        .executable(name: "vhpc-guest", targets: ["vhpc-guest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure graph code: topologies, routing, failure-aware routes. No I/O, no dependencies.
        .target(name: "Topology"),
        // Host processes: the one spawner (process group, parent-death signal, fd 3), the one reaper (pidfd
        // waits), the one run-to-completion (stdout and stderr drained at once), the one PATH search.
        .target(name: "HostProcess", dependencies: ["CHostProcess"]),
        // fork/exec with process group + parent-death signal (clone(CLONE_VM | CLONE_VFORK)), prctl, pidfd_open:
        // calls Swift cannot make directly.
        .target(name: "CHostProcess"),
        // Frames, messages, codec, handshake and session state machines, NIO handlers; the hash primitives
        // are injected (WireCryptography), so no Foundation and no swift-crypto: the guest agent links it.
        .target(name: "WireCore", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // WireCore with swift-crypto's SHA-256/HMAC/HKDF. What the host side uses.
        .target(name: "Wire", dependencies: [
            "WireCore", "CChunkDigest",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The guest channel: its messages, their mapping onto Wire, the guest's end of the link. No
        // Foundation, so the guest agent stays small.
        .target(name: "GuestProtocol", dependencies: [
            "WireCore",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // OpenSSL's libcrypto (static) for the guest agent's Wire handshake and frame MACs.
        .target(name: "CGuestCrypto", linkerSettings: [.linkedLibrary("crypto")]),
        // SHA-256 that resumes from a chaining value (staged files: one hash pass checks each chunk and the file).
        // OpenSSL's archive, not libcrypto.so: the SHA-256 code is ~20 KB, while loading the shared library cost
        // every vhpc process start (front-end, each agent) ~0.5 ms and ~125 page faults.
        .target(name: "CChunkDigest", linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libcrypto.a"], .when(platforms: [.linux]))]),
        .target(name: "GuestCrypto", dependencies: ["CGuestCrypto", "WireCore"]),
        // Virtual System Environments: spec, validation, builders, cache, manifest.
        .target(name: "VSE", dependencies: [
            "GuestProtocol", "HostProcess",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // libvirt's C API for the V2M libvirt plug-in (headers: Debian's libvirt-dev), loaded on first use.
        .target(name: "CLibvirt"),
        // OpenPMIx's server library for the node agent's PMIx server (headers: Debian's libpmix-dev, found
        // under the multiarch pmix2 prefix), loaded on first use.
        .target(name: "CPMIxServer", cSettings: [.unsafeFlags([
            "-I/usr/lib/x86_64-linux-gnu/pmix2/include", "-I/usr/lib/aarch64-linux-gnu/pmix2/include",
        ])]),
        // hwloc 2 (Debian's libhwloc15, which MPICH links) for the node's topology as XML, loaded on first use.
        .target(name: "CHwloc"),
        // Hypervisor abstraction: profiles, VM lifecycle, plug-ins.
        .target(name: "V2M", dependencies: [
            "VSE", "GuestProtocol", "Wire", "CLibvirt", "HostProcess",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Agents: pure state machines plus the NIO shells that run them.
        .target(name: "Control", dependencies: [
            "Wire", "Topology", "Launch", "CControlSupport", "HostProcess",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // How processes get onto nodes: local, ssh, slurm, pbs (below Control, which adapts them to agents).
        .target(name: "Launch", dependencies: [
            "HostProcess",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The node's side of a job: the agent process, its task backends (processes; VMs through V2M's
        // Hypervisor protocol), PMI-1 and PMIx serving, the job network plan, the node's staging directories.
        .target(name: "NodeAgent", dependencies: [
            "Control", "Launch", "V2M", "VSE", "GuestProtocol", "Wire", "HostProcess", "CStepKeeper", "CPMIxServer", "CHwloc",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Plain-text tables and sizes as the CLI and the benchmarks print them.
        .target(name: "TextReport"),
        // Benchmark logic behind `vhpc bench` (the CLI keeps the thin subcommands that parse options): wire
        // codec/MAC throughput, VM lifecycle, real jobs (bootstrap, staging, detection, VM clusters, MPI/PMI,
        // launch, bad exits, soak), the scale models' reports, route computation. Out of the production modules.
        .target(name: "Benchmarks", dependencies: [
            "Control", "Launch", "NodeAgent", "HostProcess", "Topology", "GuestProtocol", "Wire", "WireCore", "V2M", "VSE",
            "TextReport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Job history: one SQLite database under VHPC_HOME (GRDB, WAL), pruned by age and count.
        .target(name: "JobHistory", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .executableTarget(name: "vhpc", dependencies: [
            "VSE", "V2M", "Topology", "Wire", "Control", "Launch", "NodeAgent", "JobHistory", "HostProcess", "Benchmarks", "TextReport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], linkerSettings: [
            // Every `vhpc run` starts this binary (front-end, agents): its ~135,000 relative relocations were
            // 13 % of a start's CPU. DT_RELR packs them (binutils' gold cannot; the toolchain's lld can;
            // glibc 2.36 applies them). SwiftPM exports every symbol of an executable (~30,000): the runtime's
            // start-up dladdr (Backtrace.cpp) scanned them all (6 % of a start) and every library's symbol
            // lookups passed through them; nothing looks symbols up in vhpc, so they stay local.
            // Position-dependent (-no-pie), as Go links its programs: a PIE's relative relocations dirty (copy on
            // write) every page of its 1 MB of Swift metadata at each start; without them `vhpc --version` takes
            // 406 page faults and 5.9 ms CPU instead of 741 and 10.5 ms here. Libraries, heap, stacks and
            // mmaps stay randomised; only the image's own addresses are fixed (see README, Security model).
            .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
                          "-Xlinker", "-no-pie"],
                         .when(platforms: [.linux])),
        ]),
        // The node agent (`vhpc-agent --role root|step`, AgentExecutable): every agent process of a job runs it, not
        // `vhpc`. NodeAgent and below only: no argument parser, GRDB, metrics endpoint or benchmarks, so each agent
        // start maps and searches (Swift's conformance lookups scan every record) a smaller binary. Linked as vhpc.
        .executableTarget(name: "vhpc-agent", dependencies: ["NodeAgent"], linkerSettings: [
            .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-export-dynamic",
                          "-Xlinker", "-no-pie"],
                         .when(platforms: [.linux])),
        ]),
        // GNU/Linux calls Swift's Glibc module does not expose (pipe2, setsid spawn flag, reboot).
        .target(name: "CGuestSupport"),
        // open(O_DIRECT) for staged files: a flag Swift's Glibc module does not expose.
        .target(name: "CControlSupport"),
        // The Slurm step keeper: forks before Swift starts (an ELF constructor), so a step costs one exec.
        .target(name: "CStepKeeper"),
        // The agent inside each VM: Glibc only, one static executable (no dynamic loader, libstdc++ or libm
        // in the image; it starts in 50 ms instead of 110 ms under TCG).
        .executableTarget(
            name: "vhpc-guest",
            dependencies: ["GuestProtocol", "GuestCrypto", "WireCore", "CGuestSupport",
                           .product(name: "NIOCore", package: "swift-nio")],
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // libFuzzer target over the wire decoder, codec, session and handshake (scripts/fuzz-wire.sh builds it
        // with -sanitize=fuzzer); a plain build makes a corpus replayer.
        .executableTarget(name: "WireFuzz", dependencies: [
            "Wire",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ], path: "fuzz/WireFuzz"),
        // libFuzzer targets over control payloads, guest messages and the VSE spec parser (scripts/fuzz.sh;
        // PAYLOAD_FUZZ_TARGET picks one); a plain build makes a corpus replayer.
        .executableTarget(name: "PayloadFuzz", dependencies: [
            "Control", "GuestProtocol", "VSE", "Wire",
            .product(name: "NIOCore", package: "swift-nio"),
        ], path: "fuzz/PayloadFuzz"),
        .testTarget(name: "TopologyTests", dependencies: ["Topology"]),
        .testTarget(name: "HostProcessTests", dependencies: ["HostProcess"]),
        .testTarget(name: "JobHistoryTests", dependencies: ["JobHistory"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks"]),
        // docs/DESIGN.md's module graph checked against this file (read as text).
        .testTarget(name: "RepositoryTests"),
        .testTarget(name: "WireTests", dependencies: [
            "Wire", "WireCore",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOTestUtils", package: "swift-nio"),
        ]),
        .testTarget(name: "VSETests", dependencies: ["VSE", "GuestProtocol", "GuestCrypto", "Wire", "HostProcess"]),
        .testTarget(name: "V2MTests", dependencies: [
            "V2M", "VSE", "GuestCrypto", "HostProcess",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "Launch", "Wire", "Topology", "HostProcess"]),
        .testTarget(name: "NodeAgentTests", dependencies: ["NodeAgent", "Control", "Topology", "V2M", "VSE", "Wire"]),
        // Slow: real VMs, sshd, libvirtd. Run alone with `swift test --filter IntegrationTests`.
        .testTarget(name: "IntegrationTests", dependencies: ["VSE", "V2M", "GuestProtocol", "Control", "Launch", "JobHistory", "HostProcess"]),
    ],
    swiftLanguageModes: [.v6]
)
