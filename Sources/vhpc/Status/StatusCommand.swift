import ArgumentParser
import Control
import Foundation
import Topology

/// `vhpc status [JOB]`: jobs, or one job's agents, nodes, states and failure-detector view; `--dot` draws the
/// topology (boot tree solid, BMG dashed, failed agents red).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show running and recent jobs.")

    @Argument(help: "Job id (default: list jobs).") var job: String?
    @Flag(help: "Print the job's live topology as Graphviz dot.") var dot = false

    func run() throws {
        let records = JobRecord.loadAll()
        guard let job else {
            var rows = [["JOB", "STATE", "NODES", "TASKS", "FRONT-END", "COMMAND"]]
            for record in records {
                rows.append([
                    record.jobID, record.isLive ? record.state : "\(record.state) (front-end gone)", "\(record.nodes)",
                    "\(record.tasks)", "\(record.frontEndPID)", record.command,
                ])
            }
            print(TextTable.render(rows), terminator: "")
            return
        }
        guard let record = records.first(where: { $0.jobID == job }) else { throw CLIErrors.fail("no such job: \(job)") }
        let failed = Dictionary(record.failures.map { ($0.rank, $0) }, uniquingKeysWith: { first, _ in first })
        if dot {
            print(try dotGraph(record, failed: failed), terminator: "")
            return
        }
        print("job \(record.jobID): \(record.state); \(record.nodes) nodes, \(record.tasks) tasks, fanout \(record.fanout)")
        var rows = [["RANK", "ROLE", "HOST", "PORT", "PID", "STATE", "DETECTOR"]]
        let byRank = Dictionary(record.agents.map { ($0.rank, $0) }, uniquingKeysWith: { first, _ in first })
        for rank in 0...record.nodes {
            let endpoint = byRank[rank]
            let notice = failed[rank]
            let alive = endpoint.map { JobRunner.isAlive($0.pid) } ?? false
            rows.append([
                "\(rank)", rank == 0 ? "controller" : "root agent", endpoint?.host ?? "-", endpoint.map { "\($0.port)" } ?? "-",
                endpoint.map { "\($0.pid)" } ?? "-",
                notice != nil ? "failed" : (alive ? "alive" : "gone"),
                notice.map { "\($0.detector) by \($0.reporter)" } ?? "-",
            ])
        }
        print(TextTable.render(rows), terminator: "")
    }

    private func dotGraph(_ record: JobRecord, failed: [Int: FailureNotice]) throws -> String {
        let tree = try BootTree(kind: .tree(arity: record.fanout), nodeCount: record.nodes + 1)
        let bmg = try BinomialGraph(nodeCount: record.nodes + 1).graph()
        var lines = ["graph \"\(record.jobID)\" {"]
        for rank in 0...record.nodes {
            lines.append("  \(rank) [label=\"\(rank == 0 ? "ctl" : "\(rank)")\"\(failed[rank] != nil ? ", color=red, style=filled" : "")];")
        }
        for link in tree.graph().links { lines.append("  \(link.lower) -- \(link.upper);") }
        for link in bmg.links where !tree.graph().hasLink(link.lower, link.upper) {
            lines.append("  \(link.lower) -- \(link.upper) [style=dashed, color=gray];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
