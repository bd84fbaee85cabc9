import Control
import Foundation
import Logging
@testable import NodeAgent
import Synchronization
import Testing
import V2M
import VSE
import Wire

/// A node's VM job through V2M on the simulated hypervisor: the same backend as `vhpc run --vse`, with
/// VMs that boot in milliseconds and a guest that knows `echo`, `printenv`, `sleep`, `exit`.
@Suite struct VMJobTests {
    final class Events: Sendable {
        let list = Mutex<[AgentEvent]>([])
        func add(_ event: AgentEvent) { list.withLock { $0.append(event) } }
        var exits: [Int: (status: Int32, message: String)] {
            list.withLock { events in
                var result: [Int: (Int32, String)] = [:]
                for case .taskExited(let task, let status, let message) in events { result[task] = (status, message) }
                return result
            }
        }
        func output(of rank: Int) -> String {
            list.withLock { events in
                events.reduce(into: "") { text, event in
                    if case .taskOutput(let task, .stdout, let data, _) = event, task == rank { text += String(buffer: data) }
                }
            }
        }
    }

    static let image = ImageEntry(manifest: ImageManifest(
        id: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", name: "tiny", specHash: "s",
        builderVersion: "2", createdAt: Date(timeIntervalSince1970: 0), base: "busybox", format: "initramfs",
        kernel: Artifact(path: "vmlinuz", size: 1, sha256: "k"), initrd: Artifact(path: "initrd.img", size: 1, sha256: "i"),
        disk: nil, diskFormat: nil, kernelRelease: "6.1.0", kernelCommandLine: "rdinit=/init",
        guestChannel: GuestChannelDescription(), modules: [], environment: [:], defaultVCPUs: 1,
        defaultMemoryBytes: 256 << 20), directory: "/nonexistent/images/tiny")

    static func hypervisor() -> SimulatedHypervisor {
        var latencies = SimulatedHypervisor.Latencies()
        latencies.boot = .milliseconds(5)
        latencies.stop = .milliseconds(1)
        return SimulatedHypervisor(latencies: latencies)
    }

    /// Runs `argv` as a two-task VM job on one node; returns the events and what is left in the state's tmp.
    static func run(_ argv: [String], hypervisor: SimulatedHypervisor = hypervisor(),
                    controls: AsyncStream<TaskControl> = AsyncStream { _ in }) async throws -> (Events, [String]) {
        let root = FileManager.default.temporaryDirectory.path + "/vmjob-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let state = StateDirectory(root: root)
        try FileManager.default.createDirectory(atPath: state.tmp, withIntermediateDirectories: true)
        var plan = NodeTaskPlan(jobID: "job-7", agentRank: 1, node: 0, host: "localhost", taskRanks: 0..<2, size: 2,
                                executable: argv[0], arguments: Array(argv.dropFirst()),
                                environment: [NodeTaskPlan.mpiVariable: "none", "GREETING": "hello"], workingDirectory: "/")
        plan.secret = JobSecret(bytes: Array(0..<32))
        let spec = VMJobSpec(imageID: image.manifest.id, hypervisor: "simulated")
        plan.runtime = .vms(spec)
        let events = Events()
        await VMTaskBackend(logger: Logger(label: "test")).run(
            plan, spec: spec, image: image, hypervisor: hypervisor, state: state, nodeState: state, controls: controls,
            report: { events.add($0) })
        let left = (try? FileManager.default.contentsOfDirectory(atPath: state.tmp)) ?? []
        return (events, left)
    }

    @Test func eachTaskRunsInItsOwnVMWithItsRankAndHostname() async throws {
        let (events, left) = try await Self.run(["printenv", "VHPC_RANK", "VHPC_HOSTNAME", "VHPC_ADDRESS", "GREETING"])
        #expect(events.exits[0]?.status == 0 && events.exits[1]?.status == 0, "\(events.list.withLock { $0 })")
        #expect(events.output(of: 0) == "0\ntiny-r0\n10.77.0.1\nhello\n")
        #expect(events.output(of: 1) == "1\ntiny-r1\n10.77.0.2\nhello\n")
        #expect(left.isEmpty, "left in tmp: \(left)")
    }

    @Test func exitStatusesComeBackPerRank() async throws {
        let (events, _) = try await Self.run(["exit", "3"])
        #expect(events.exits[0]?.status == 3 && events.exits[1]?.status == 3)
    }

    @Test func aCommandTheGuestCannotStartIsNotFound() async throws {
        let (events, _) = try await Self.run(["no-such-program"])
        #expect(events.exits[0]?.status == 127, "\(events.exits)")
        #expect(events.exits[0]?.message.contains("no-such-program") == true)
    }

    @Test func aVMThatFailsToBootFailsItsTaskAndLeavesNothing() async throws {
        let hypervisor = Self.hypervisor()
        hypervisor.inject(.start, vm: "job-7-n0-1")
        let (events, left) = try await Self.run(["echo", "up"], hypervisor: hypervisor)
        #expect(events.exits[0]?.status == 0)
        #expect(events.output(of: 0) == "up\n")
        #expect(events.exits[1]?.status == TaskEnd.infrastructureFailureStatus)
        #expect(events.exits[1]?.message.contains("VM of rank 1 on node 0 (localhost) failed") == true, "\(events.exits)")
        #expect(left.isEmpty, "left in tmp: \(left)")
    }

    @Test func terminateEndsEveryVMAtOnce() async throws {
        let (controls, input) = AsyncStream.makeStream(of: TaskControl.self)
        Task {
            try await Task.sleep(for: .milliseconds(300))
            input.yield(.terminate)
        }
        // A guest command that ran its 60 s would exit 0: 143 for both says terminate ended them.
        let (events, left) = try await Self.run(["sleep", "60"], controls: controls)
        #expect(events.exits[0]?.status == 128 + SIGTERM && events.exits[1]?.status == 128 + SIGTERM, "\(events.exits)")
        #expect(left.isEmpty, "left in tmp: \(left)")
    }
}
