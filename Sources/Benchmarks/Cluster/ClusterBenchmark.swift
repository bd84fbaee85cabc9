import Control
import Foundation
import GuestProtocol
import HostProcess
import Launch
import Logging
import NIOConcurrencyHelpers
import NodeAgent
import TextReport
import V2M
import VSE
import Wire

/// `vhpc bench cluster`: time from `vhpc run --vse` to every application started in its VM, for a few
/// cluster shapes (nodes × VMs per node), cold boots and snapshot starts side by side, split into agent
/// bootstrap, image staging, and VM boot plus application launch. Node image caches are emptied first, so
/// staging is measured cold; the snapshot columns restore the image's saved guest (saved once beforehand,
/// as `vhpc vse build --snapshot` does). First, one VM's start-to-guest-ready time, cold and from a snapshot.
public struct ClusterBenchmark: Sendable {
    public var image: ImageEntry
    public var shapes: [String]
    public var runs: Int
    /// Saves (or finds) the image's snapshot for job VMs, as `vhpc vse build --snapshot` does.
    public var prepareSnapshot: @Sendable (ImageEntry) async throws -> SnapshotStore.Entry

    public init(image: ImageEntry, shapes: [String], runs: Int, prepareSnapshot: @escaping @Sendable (ImageEntry) async throws -> SnapshotStore.Entry) {
        self.image = image
        self.shapes = shapes
        self.runs = runs
        self.prepareSnapshot = prepareSnapshot
    }

    public func run() async throws {
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        print("image \(image.manifest.name) (\(image.manifest.id.prefix(12))), \(ProcessInfo.processInfo.activeProcessorCount) cores, medians of \(runs) runs; node image caches cold")
        let snapshot = try await prepareSnapshot(image)
        print("snapshot \(snapshot.directory) (device state \(snapshot.meta.stateBytes >> 10) KiB, RAM file \(snapshot.meta.ramBytes >> 20) MiB mapped copy-on-write; \(snapshot.meta.shape))")
        let (cold, restored) = try await Self.guestReady(image, runs: runs)
        let ratio = cold.map { c in restored.map { String(format: "%.2f×", $0.seconds / c.seconds) } ?? "-" } ?? "-"
        print("one VM, start → guest ready: cold \(benchSeconds(cold)), snapshot \(benchSeconds(restored)) (\(ratio), target ≤ 0.25×)")
        var rows = [["SHAPE", "VMS", "BOOTSTRAP", "STAGING", "COLD BOOT+LAUNCH", "COLD TOTAL", "SNAPSHOT BOOT+LAUNCH", "SNAPSHOT TOTAL", "RESULT"]]
        for shape in shapes {
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else { throw BenchmarkError("bad shape '\(shape)' (want NODESxVMS, e.g. 2x2)") }
            var coldRuns: [Phases] = [], snapshotRuns: [Phases] = []
            for _ in 0..<runs {
                coldRuns.append(try await Self.measure(image: image, nodes: parts[0], vmsPerNode: parts[1], snapshots: false))
                snapshotRuns.append(try await Self.measure(image: image, nodes: parts[0], vmsPerNode: parts[1], snapshots: true))
            }
            let c = Phases.median(coldRuns), s = Phases.median(snapshotRuns)
            let failures = (coldRuns + snapshotRuns).compactMap(\.failure)
            rows.append([shape, "\(parts[0] * parts[1])", benchSeconds(s.bootstrap, missing: "-"), benchSeconds(s.staging, missing: "-"),
                         benchSeconds(c.boot, missing: "-"), benchSeconds(c.total, missing: "-"),
                         benchSeconds(s.boot, missing: "-"), benchSeconds(s.total, missing: "-"),
                         failures.isEmpty ? "ok" : failures.joined(separator: "; ")])
            print(TextTable.render(rows.suffix(1)), terminator: "")
        }
        print("")
        print(TextTable.render(rows), terminator: "")
    }

    /// One job's phases (nil where not reached).
    struct Phases {
        var bootstrap: Duration?, staging: Duration?, boot: Duration?, total: Duration?
        var failure: String?

        static func median(_ runs: [Phases]) -> Phases {
            func m(_ path: KeyPath<Phases, Duration?>) -> Duration? { BenchLaunch.median(runs.compactMap { $0[keyPath: path] }) }
            return Phases(bootstrap: m(\.bootstrap), staging: m(\.staging), boot: m(\.boot), total: m(\.total))
        }
    }

    /// Median start-to-guest-ready of one VM booted cold and restored from the snapshot.
    static func guestReady(_ image: ImageEntry, runs: Int) async throws -> (cold: Duration?, restored: Duration?) {
        let state = StateDirectory.resolve()
        var cold: [Duration] = [], restored: [Duration] = []
        for _ in 0..<runs {
            for useSnapshot in [false, true] {
                var options = QuickBoot.Options()
                options.nics = [VMNIC(mac: "52:56:00:00:00:01", network: .unixDatagram(vmPath: state.tmp + "/bench.vm", switchPath: state.tmp + "/bench.sw"))]
                options.snapshots = useSnapshot ? [SnapshotStore(state: state)] : []
                options.identity = GuestIdentity(hostname: "bench-r0", address: "10.77.0.1/16", mac: "52:56:00:00:00:02")
                options.kernelArguments = ["vhpc.hostname=bench-r0", "vhpc.ip=10.77.0.1/16"]
                let result = try await QuickBoot.run(image: image, argv: ["true"], options: options, onOutput: { _, _ in },
                                                     logger: Logger(label: "vhpc.bench"))
                if useSnapshot, !result.restored { throw BenchmarkError("the snapshot did not restore (see the warning above)") }
                if useSnapshot { restored.append(result.bootDuration) } else { cold.append(result.bootDuration) }
                try? FileManager.default.removeItem(atPath: state.tmp + "/bench.vm")
            }
        }
        return (BenchLaunch.median(cold), BenchLaunch.median(restored))
    }

    /// One job: every VM prints a line as soon as its application starts.
    static func measure(image: ImageEntry, nodes: Int, vmsPerNode: Int, snapshots: Bool) async throws -> Phases {
        let nodeDirectory = NodeDirectories.byRank()
        for rank in 1...nodes { try? FileManager.default.removeItem(atPath: nodeDirectory(rank) + "/images/" + image.manifest.id) }
        var options = JobOptions(
            jobID: "bench-cluster-\(getpid())-\(nodes)x\(vmsPerNode)-\(snapshots ? "s" : "c")", nodeCount: nodes, taskCount: nodes * vmsPerNode, hosts: [],
            executable: "echo", arguments: ["started"], workingDirectory: "/")
        options.staging = try StagePlan.image(image, firstTransferID: 1000)
        options.runtime = .vms(VMJobSpec(imageID: image.manifest.id, snapshots: snapshots))
        options.heartbeat = .seconds(2)
        let started = ContinuousClock.now
        let marks = NIOLockedValueBox<(bootstrap: Duration?, staged: Duration?, running: Set<Int>, allStarted: Duration?)>((nil, nil, [], nil))
        let total = nodes * vmsPerNode
        let runner = JobRunner(options: options, spawner: LauncherAgentSpawner(launcher: LocalLauncher()), logger: Logger(label: "bench"))
        let result = try await runner.run(events: { event in
            let now = ContinuousClock.now - started
            marks.withLockedValue { m in
                switch event {
                case .bootstrapped: m.bootstrap = m.bootstrap ?? now
                case .staged: m.staged = m.staged ?? now
                case .output(let task, _, _):
                    m.running.insert(task)
                    if m.running.count == total, m.allStarted == nil { m.allStarted = now }
                default: break
                }
            }
        })
        StagePlan.sweep(jobID: options.jobID, nodes: nodes)
        let m = marks.withLockedValue { $0 }
        let bootstrap = m.bootstrap
        let staging = m.staged.flatMap { staged in bootstrap.map { staged - $0 } }
        let boot = m.allStarted.flatMap { all in m.staged.map { all - $0 } }
        let failure = result.exitCode == 0 && m.allStarted != nil ? nil : "\(snapshots ? "snapshot" : "cold"): exit \(result.exitCode), \(m.running.count)/\(total) started"
        return Phases(bootstrap: bootstrap, staging: staging, boot: boot, total: m.allStarted, failure: failure)
    }
}
