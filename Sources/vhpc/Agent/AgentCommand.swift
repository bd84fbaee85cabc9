import ArgumentParser
import Control
import Foundation
import Launch
import Logging

/// `vhpc agent --role root`: one agent process of a job (started by the front-end or a parent agent, never by
/// hand). Reads its configuration, with the job secret, from stdin.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run a vhpc agent (started by `vhpc run`; configuration on stdin).",
        shouldDisplay: false
    )

    @Option(help: "Agent role: root (started by its parent) or step (one of a job step's agents, rank from the resource manager).")
    var role: String = "root"
    @Option(help: "Job id (informational; the configuration on stdin is authoritative).") var job: String?
    @Option(help: "First rank hosted (informational).") var rank: Int?

    func run() async throws {
        guard role == "root" || role == "step" else { throw CLIErrors.fail("unknown agent role '\(role)'") }
        // One JSON line (the ssh launcher keeps stdin open afterwards; the local one closes it).
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(0, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        if role == "step", getenv(StepKeeper.variable) == nil {
            Foundation.exit(try await StepKeeper.run(configurationLine: line))
        }
        let input = Data(line)
        let configuration: AgentProcessConfiguration
        do {
            configuration = try JSONDecoder().decode(AgentProcessConfiguration.self, from: input)
        } catch {
            throw CLIErrors.fail("agent: cannot read configuration from stdin: \(error)")
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        ResourceLimits.raiseOpenFiles()
        signal(SIGPIPE, SIG_IGN)
        var logger = Logger(label: "vhpc.agent")
        logger[metadataKey: "job.id"] = "\(configuration.jobID)"
        if configuration.launcher == "ssh" {
            // Lifetime contract of the ssh launcher: end-of-file on stdin means our launcher is gone.
            let watcher = Thread {
                var sink = [UInt8](repeating: 0, count: 256)
                while read(0, &sink, sink.count) > 0 {}
                Foundation.exit(1)
            }
            watcher.start()
        }
        var step: AgentHost.StepPlacement?
        var nodeDirectory = StagePlan.nodeDirectory()
        if role == "step" {
            let placement = try StepAgentPlacement.current(configuration: configuration)
            step = placement
            // Nodes of a cluster may share the state directory's filesystem: key it by node name, not rank.
            let directory = StagePlan.nodeDirectory(named: configuration.host(ofRank: placement.rank))
            nodeDirectory = { _ in directory }
        }
        let spawner: any AgentSpawner = role == "step"
            ? NoChildrenSpawner() : LauncherAgentSpawner(launcher: try LauncherFactory.make(named: configuration.launcher))
        let host = AgentHost(
            configuration: configuration, spawner: spawner,
            backend: SelectingTaskBackend(processes: ProcessTaskBackend(logger: logger), vms: VMTaskBackend(logger: logger)),
            logger: logger, nodeDirectory: nodeDirectory, step: step)
        let code = try await host.run()
        Foundation.exit(code)
    }
}
