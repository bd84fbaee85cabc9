import Foundation
import Logging
import V2M
import VSE

/// The VM lifecycle benchmark behind `vhpc bench vm`: for one plug-in and image, start-to-guest-ready,
/// pause and resume latency (median, p99), graceful stop time, and N parallel starts.
public struct VMBenchmark: Sendable {
    public var hypervisor: any Hypervisor
    public var image: ImageEntry
    public var state: StateDirectory
    public var operations: Int
    public var parallelCounts: [Int]
    public var memoryBytes: UInt64

    public init(hypervisor: any Hypervisor, image: ImageEntry, state: StateDirectory, operations: Int = 50,
                parallelCounts: [Int] = [1, 2, 4, 8], memoryBytes: UInt64 = 256 << 20) {
        self.hypervisor = hypervisor
        self.image = image
        self.state = state
        self.operations = operations
        self.parallelCounts = parallelCounts
        self.memoryBytes = memoryBytes
    }

    /// Figures for one plug-in.
    public struct Report: Sendable {
        public var kind: HypervisorKind
        public var startToReady: Duration
        public var pause: LatencySummary
        public var resume: LatencySummary
        public var gracefulStop: Duration
        public var gracefulStopWasClean: Bool
        /// N → wall time until all N VMs were ready.
        public var parallelStarts: [(count: Int, wall: Duration)]
    }

    public func run(progress: @Sendable (String) -> Void = { _ in }) async throws -> Report {
        let kind = hypervisor.kind
        let prefix = "bench-\(kind.rawValue.prefix(2))-\(getpid())"
        func profile(_ suffix: String) throws -> VMProfile {
            let name = "\(prefix)-\(suffix)"
            let directory = try RuntimeDirectory.make(name: name, preferredParent: state.tmp)
            return VMProfile(image: image, name: name, vcpus: 1, memoryBytes: memoryBytes, runtimeDirectory: directory)
        }
        let clock = ContinuousClock()

        progress("\(kind): start, \(operations) pause/resume, stop")
        let vm = try hypervisor.define(try profile("main"))
        var started = clock.now
        try await vm.start()
        let startToReady = clock.now - started
        var pauses: [Duration] = []
        var resumes: [Duration] = []
        do {
            for _ in 0..<operations {
                started = clock.now
                try await vm.pause()
                pauses.append(clock.now - started)
                started = clock.now
                try await vm.resume()
                resumes.append(clock.now - started)
            }
        } catch {
            try? await vm.stop(force: true)
            throw error
        }
        started = clock.now
        let clean = try await vm.stop(timeout: .seconds(30))
        let stopTime = clock.now - started

        var parallel: [(Int, Duration)] = []
        for count in parallelCounts {
            progress("\(kind): \(count) parallel start\(count == 1 ? "" : "s")")
            let vms = try (0..<count).map { try hypervisor.define(try profile("p\(count)-\($0)")) }
            started = clock.now
            let failure: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
                for vm in vms { group.addTask { do { try await vm.start(); return nil } catch { return error } } }
                var first: (any Error)?
                for await error in group where first == nil { first = error }
                return first
            }
            let wall = clock.now - started
            await withTaskGroup(of: Void.self) { group in
                for vm in vms where vm.currentState.isActive { group.addTask { _ = try? await vm.stop(force: true) } }
            }
            if let failure { throw failure }
            parallel.append((count, wall))
        }
        return Report(kind: kind, startToReady: startToReady, pause: LatencySummary(pauses), resume: LatencySummary(resumes),
                      gracefulStop: stopTime, gracefulStopWasClean: clean, parallelStarts: parallel)
    }
}

/// Median and 99th percentile of a set of latencies.
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var median: Duration
    public var p99: Duration

    public init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        count = sorted.count
        median = sorted.isEmpty ? .zero : sorted[sorted.count / 2]
        p99 = sorted.isEmpty ? .zero : sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)]
    }
}
