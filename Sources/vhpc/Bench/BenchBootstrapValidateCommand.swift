import ArgumentParser
import Control
import Foundation
import HostProcess
import Launch
import NodeAgent

/// `vhpc bench bootstrap-validate`: the scale model checked against real runs on this host. The model is
/// given this host's own costs — its cores shared by every agent, agents packed into processes as `vhpc run`
/// packs them, the measured start of an agent process and loopback latency — and the real state machines;
/// the per-frame cost outside them (event loop, system calls, MAC) is fitted at one size and the others are
/// predicted, side by side with `vhpc bench bootstrap`'s real runs of the same sizes in the same run. The
/// fitted cost is charged per message on each end, in a process or between processes alike.
struct BenchBootstrapValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap-validate",
        abstract: "The bootstrap model's predictions for this host against real runs (wired time, side by side).")

    @Option(help: "Agent counts (the first one calibrates the per-frame cost).") var sizes: [Int] = [64, 256, 1024]
    @Option(help: "Boot tree fanout.") var fanout: Int = 4
    @Option(name: .customLong("runs"), help: "Real runs per size (median).") var runs: Int = 5

    func validate() throws {
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 >= 2 }) else { throw ValidationError("--sizes must be at least 2") }
        guard fanout >= 1, runs >= 1 else { throw ValidationError("--fanout and --runs must be at least 1") }
    }

    func run() async throws {
        #if DEBUG
        print("warning: debug build; the measured CPU is only meaningful with `swift build -c release`\n")
        #endif
        LoggingSetup.bootstrap(verbose: false)
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let link = try HostCosts.loopbackOneWay()
        // An agent process's start as a job sees it: a one-node job's time to wired (spawn, start-up, handshake).
        var single: [Duration] = []
        for _ in 0..<max(3, runs) {
            if let run = try await BenchBootstrapCommand.job(size: 1, fanout: fanout, perProcess: 1, bootstrapOnly: true) { single.append(run.time) }
        }
        guard !single.isEmpty else { throw ValidationError("N=1: no real run bootstrapped") }
        let spawn = single.sorted()[single.count / 2]
        print(String(format: "This host: %d cores; agent process start %.1f ms (a 1-node job's time to wired, median); loopback TCP one-way %.1f us",
                     cores, spawn.seconds * 1e3, link.seconds * 1e6))
        var real: [Int: Duration] = [:]
        for size in sizes {
            var times: [Duration] = []
            for _ in 0..<runs {
                let perProcess = RunDefaults.agentsPerProcess(launcher: "local", nodes: size)
                if let run = try await BenchBootstrapCommand.job(size: size, fanout: fanout, perProcess: perProcess, bootstrapOnly: true) {
                    times.append(run.time)
                }
            }
            guard !times.isEmpty else { throw ValidationError("N=\(size): no real run bootstrapped") }
            real[size] = times.sorted()[times.count / 2]
        }
        func model(_ size: Int, frameCPU: Duration) throws -> Duration {
            var model = BootstrapModel(linkLatency: link, bandwidth: .infinity, spawnLatency: spawn, spawnCPU: .microseconds(200), frameCPU: frameCPU)
            model.localMessageCPU = frameCPU
            model.hostCores = cores
            model.agentsPerProcess = RunDefaults.agentsPerProcess(launcher: "local", nodes: size)
            let outcome = try BootstrapSimulation.run(nodes: size, fanout: fanout, model: model, cpu: .measured)
            guard let wired = outcome.wired else { throw ValidationError("N=\(size): the model did not bootstrap") }
            return wired
        }
        // The per-frame cost that makes the model match the first size (bisection: wired grows with it).
        let calibration = sizes[0]
        var low = Duration.zero, high = Duration.milliseconds(20)
        for _ in 0..<20 {
            let middle = (low + high) / 2
            if try model(calibration, frameCPU: middle) < real[calibration]! { low = middle } else { high = middle }
        }
        let frameCPU = (low + high) / 2
        print(String(format: "Per-message cost outside the state machines (each end) fitted at N = %d: %.1f us", calibration, frameCPU.seconds * 1e6))
        var rows = [["N", "REAL WIRED (median of \(runs))", "MODEL WIRED", "MODEL / REAL", "WITHIN 20 %"]]
        for size in sizes {
            let predicted = try model(size, frameCPU: frameCPU)
            let ratio = predicted / real[size]!
            rows.append(["\(size)", benchSeconds(real[size], decimals: 4), benchSeconds(predicted, decimals: 4),
                         String(format: "%.2f", ratio), size == calibration ? "(calibration)" : (abs(ratio - 1) <= 0.2 ? "yes" : "no")])
        }
        print(TextTable.render(rows), terminator: "")
    }
}

/// This host's loopback latency, for the model.
enum HostCosts {
    /// Half the median round trip of one byte over a loopback TCP connection (1,000 trips).
    static func loopbackOneWay() throws -> Duration {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound else { throw ValidationError("loopback: cannot listen: \(String(cString: strerror(errno)))") }
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) == 0 }
        }
        let server = accept(listener, nil, nil)
        guard connected, server >= 0 else { throw ValidationError("loopback: cannot connect: \(String(cString: strerror(errno)))") }
        defer { close(server) }
        var one: Int32 = 1
        for fd in [client, server] { setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size)) }
        let echo = Thread {
            var byte: UInt8 = 0
            while read(server, &byte, 1) == 1 { _ = write(server, &byte, 1) }
        }
        echo.start()
        var trips: [Duration] = []
        var byte: UInt8 = 1
        for _ in 0..<1000 {
            let started = ContinuousClock.now
            guard write(client, &byte, 1) == 1, read(client, &byte, 1) == 1 else { throw ValidationError("loopback: round trip failed") }
            trips.append(ContinuousClock.now - started)
        }
        shutdown(client, Int32(SHUT_RDWR))
        return trips.sorted()[trips.count / 2] / 2
    }
}
