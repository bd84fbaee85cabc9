import ArgumentParser
import Control
import Foundation
import Launch
import Logging
import NodeAgent
import NIOConcurrencyHelpers
import VSE

/// `vhpc bench cluster`: time from `vhpc run --vse` to every application started in its VM, for a few
/// cluster shapes (nodes × VMs per node), split into agent bootstrap, image staging, and VM boot plus
/// application launch. Node image caches are emptied first, so staging is measured cold.
struct BenchClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cluster", abstract: "Time to a running virtual cluster.")

    @Option(help: "VSE spec, image name or id.") var vse: String = "examples/tiny.yaml"
    @Option(help: "Shapes NODESxVMS.") var shapes: [String] = ["1x1", "2x2", "4x2"]

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        let image = try VSEBuildCommand.resolveImage(vse, verbose: false)
        print("image \(image.manifest.name) (\(image.manifest.id.prefix(12))), \(ProcessInfo.processInfo.activeProcessorCount) cores; caches cold")
        var rows = [["SHAPE", "VMS", "BOOTSTRAP", "STAGING", "BOOT+LAUNCH", "TOTAL", "RESULT"]]
        for shape in shapes {
            let parts = shape.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[1] >= 1 else { throw CLIErrors.fail("bad shape '\(shape)' (want NODESxVMS, e.g. 2x2)") }
            let phases = try await Self.measure(image: image, nodes: parts[0], vmsPerNode: parts[1])
            rows.append([shape, "\(parts[0] * parts[1])"] + phases)
            print(TextTable.render(rows.suffix(1)), terminator: "")
        }
        print("")
        print(TextTable.render(rows), terminator: "")
    }

    /// One job: every VM prints a line as soon as its application starts.
    static func measure(image: ImageEntry, nodes: Int, vmsPerNode: Int) async throws -> [String] {
        let nodeDirectory = NodeDirectories.byRank()
        for rank in 1...nodes { try? FileManager.default.removeItem(atPath: nodeDirectory(rank) + "/images/" + image.manifest.id) }
        var options = JobOptions(
            jobID: "bench-cluster-\(getpid())-\(nodes)x\(vmsPerNode)", nodeCount: nodes, taskCount: nodes * vmsPerNode, hosts: [],
            executable: "echo", arguments: ["started"], workingDirectory: "/")
        options.staging = try StagePlan.image(image, firstTransferID: 1000)
        options.environment[VMTaskBackend.imageVariable] = image.manifest.id
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
        func seconds(_ value: Duration?) -> String { benchSeconds(value, missing: "-") }
        let bootstrap = m.bootstrap
        let staging = m.staged.flatMap { staged in bootstrap.map { staged - $0 } }
        let boot = m.allStarted.flatMap { all in m.staged.map { all - $0 } }
        let outcome = result.exitCode == 0 && m.allStarted != nil ? "ok" : "exit \(result.exitCode), \(m.running.count)/\(total) started"
        return [seconds(bootstrap), seconds(staging), seconds(boot), seconds(m.allStarted), outcome]
    }
}
