import Control
import Foundation
import Launch
import Logging

/// One agent OS process on a node (`vhpc-agent --role root|step`): reads its configuration line (with the
/// job secret) from stdin, hosts its agents with the node's task backends (processes, or VMs through V2M),
/// and returns the process's exit code.
public enum NodeAgentProcess {
    /// Runs the agent process to its end; throws ``NodeAgentError`` for a configuration it cannot use.
    public static func run(role: AgentExecutable.Role) async throws -> Int32 {
        // A step's agents wait here until srun forwards the configuration (once every node's step is up).
        // A resident agent's spare, waiting for its job: the first uses of what the job will need are made
        // meanwhile (the marker is not passed on to the tasks).
        let spare = role == .step && getenv(ResidentAgents.spareVariable) != nil
        if spare { unsetenv(ResidentAgents.spareVariable) }
        EventLoopWarmUp.start()
        if spare { Task.detached { await AgentWarmUp.run() } }
        // One JSON line (the ssh launcher keeps stdin open afterwards; the local one closes it).
        let line = readLine(0)
        // A step started ahead of its job is withdrawn when the front-end gives up before the job starts:
        // nothing was started here, and the front-end reports why.
        if role == .step, line + [UInt8(ascii: "\n")] == PendingStep.withdrawal { return 0 }
        if role == .resident { return try await ResidentAgentProcess.run(line: line) }
        if role == .step, !StepKeeper.kept {
            throw NodeAgentError("--role step: started without its step keeper (run it as exactly `vhpc-agent --role step`)")
        }
        let configuration: AgentProcessConfiguration
        do {
            configuration = try JSONDecoder().decode(AgentProcessConfiguration.self, from: Data(line))
        } catch {
            throw NodeAgentError("cannot read the configuration from stdin: \(error)")
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
        var nodeDirectory = NodeDirectories.byRank()
        if role == .step {
            let placement = try StepAgentPlacement.current(configuration: configuration)
            step = placement
            // Nodes of a cluster may share the state directory's filesystem: key it by node name, not rank.
            let directory = NodeDirectories.named(configuration.host(ofRank: placement.rank))
            nodeDirectory = { _ in directory }
        }
        let spawner: any AgentSpawner
        do {
            spawner = role == .step
                ? NoChildrenSpawner() : LauncherAgentSpawner(launcher: try LauncherFactory.make(named: configuration.launcher))
        } catch {
            throw NodeAgentError("\(error)")
        }
        return try await host(configuration: configuration, spawner: spawner, logger: logger, nodeDirectory: nodeDirectory, step: step).run()
    }

    /// The first line of `fd` without its newline (all of it at end of file), read a block at a time rather
    /// than a byte at a time (a configuration line is ~1 KB: as many system calls). Nothing follows the line on
    /// an agent's stdin but end of file, so what a block holds beyond it is not kept.
    static func readLine(_ fd: Int32) -> [UInt8] {
        var line: [UInt8] = []
        var block = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &block, block.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return line }
            if let end = block[..<count].firstIndex(of: UInt8(ascii: "\n")) {
                return line + block[..<end]
            }
            line += block[..<count]
        }
    }

    /// The agents of one process on this node, with the node's task backends (processes; VMs through V2M).
    static func host(
        configuration: AgentProcessConfiguration, spawner: any AgentSpawner, logger: Logger,
        nodeDirectory: @escaping @Sendable (Int) -> String = NodeDirectories.byRank(), step: AgentHost.StepPlacement? = nil
    ) -> AgentHost {
        AgentHost(
            configuration: configuration, spawner: spawner,
            backend: SelectingTaskBackend(processes: ProcessTaskBackend(logger: logger), vms: VMTaskBackend(logger: logger)),
            logger: logger, nodeDirectory: nodeDirectory, step: step)
    }
}
