import ArgumentParser
import Foundation
import JobHistory
import TextReport

/// `vhpc status [JOB]`: running and recent jobs, or one job: state, elapsed time, per-task outcomes, its
/// VMs, its agents and their detectors' view, as text, JSON, or a picture of its topology (dot or SVG).
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show running and recent jobs, or one job.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, dot, svg
    }

    @Argument(help: "Job id, an unambiguous prefix of one (with or without 'job-'), or a job name.") var job: String?
    @Option(help: "text, json, dot or svg (the job's boot tree and binomial graph, failed agents and rerouted paths).")
    var format: Format = .text
    @Flag(help: "Same as --format json.") var json = false
    @Flag(help: .hidden) var dot = false

    func validate() throws {
        if job == nil, [.dot, .svg].contains(format) || dot { throw ValidationError("--format \(format) needs a JOB") }
    }

    func run() throws {
        let format = json ? .json : (dot ? .dot : self.format)
        let store = try JobHistoryAccess.open()
        guard let job else {
            let jobs: [JobSummary]
            do { jobs = try store.jobs(limit: 20) } catch { throw CLIErrors.fail("\(error)") }
            if format == .json {
                print(try JobHistoryAccess.json(JobHistoryAccess.JobListJSON(jobs: jobs.map { JobHistoryAccess.JobJSON($0) })))
                return
            }
            var rows = [["JOB", "STATE", "EXIT", "ELAPSED", "NODES", "TASKS", "COMMAND"]]
            for job in jobs {
                rows.append([job.id, FrontEndLiveness.displayState(job).rawValue, job.exitCode.map { "\($0)" } ?? "-",
                             JobHistoryAccess.elapsedText(job.elapsed()), "\(job.nodes)", "\(job.tasks)", job.command])
            }
            print(TextTable.render(rows), terminator: "")
            return
        }
        let detail: JobDetail
        do { detail = try store.detail(id: try store.resolve(job).id) } catch { throw CLIErrors.fail("\(error)") }
        switch format {
        case .json:
            print(try JobHistoryAccess.json(JobHistoryAccess.JobDetailJSON(
                job: .init(detail.job), tasks: detail.tasks, agents: detail.agents, failures: detail.failures, vms: detail.vms)))
        case .dot:
            print(try picture(detail), terminator: "")
        case .svg:
            print(try GraphvizRenderer.svg(fromDot: try picture(detail)), terminator: "")
        case .text:
            print(text(detail), terminator: "")
        }
    }

    private func picture(_ detail: JobDetail) throws -> String {
        try JobTopologyPicture.dot(jobID: detail.job.id, nodes: detail.job.nodes, fanout: detail.job.fanout,
                                   failed: Set(detail.failures.map(\.rank)))
    }

    private func text(_ detail: JobDetail) -> String {
        let job = detail.job
        var out = "job \(job.id)\(job.name.map { " (\($0))" } ?? ""): \(FrontEndLiveness.displayState(job).rawValue)"
        out += job.exitCode.map { ", exit \($0)" } ?? ""
        out += "; elapsed \(JobHistoryAccess.elapsedText(job.elapsed())); \(job.nodes) nodes, \(job.tasks) tasks, "
        out += "fanout \(job.fanout), launcher \(job.launcher)\(job.image.map { ", image \($0.prefix(12))" } ?? "")\n"
        out += "command: \(job.command)\n"
        if !detail.tasks.isEmpty {
            var rows = [["TASK", "NODE", "OUTCOME"]]
            for task in detail.tasks { rows.append(["\(task.rank)", "\(task.node)", JobHistoryAccess.outcomeText(task)]) }
            out += "\n" + TextTable.render(rows)
        }
        if !detail.vms.isEmpty {
            var rows = [["TASK", "VM", "NODE", "HOST", "HYPERVISOR"]]
            for vm in detail.vms { rows.append(["\(vm.rank)", vm.name, "\(vm.node)", vm.host, vm.hypervisor]) }
            out += "\n" + TextTable.render(rows)
        }
        let failed = Dictionary(detail.failures.map { ($0.rank, $0) }, uniquingKeysWith: { first, _ in first })
        let live = FrontEndLiveness.displayState(job) == .running || FrontEndLiveness.displayState(job) == .starting
        var rows = [["RANK", "ROLE", "HOST", "PORT", "PID", "STATE", "DETECTOR"]]
        for agent in detail.agents {
            let notice = failed[agent.rank]
            let state = notice != nil ? "failed" : (live ? (kill(agent.pid, 0) == 0 ? "alive" : "gone") : "ended")
            rows.append(["\(agent.rank)", agent.rank == 0 ? "controller" : "root agent", agent.host, "\(agent.port)",
                         "\(agent.pid)", state, notice.map { "\($0.detector) by \($0.reporter)" } ?? "-"])
        }
        if detail.agents.count > 0 { out += "\n" + TextTable.render(rows) }
        for failure in detail.failures { out += "failure: \(failure.message)\n" }
        return out
    }
}
