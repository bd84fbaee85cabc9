import Control
import Metrics
import NIOConcurrencyHelpers

/// The front-end's job counters, emitted through swift-metrics (exported by `MetricsEndpoint` when
/// `vhpc run --metrics-listen` asks for it): agents, detected failures by detector, task output, staging,
/// launch failures, and the job's VMs.
final class JobMetrics: Sendable {
    private let agents = Gauge(label: "vhpc_job_agents")
    private let bootstrapSeconds = Gauge(label: "vhpc_job_bootstrap_seconds")
    private let stagedBytes = Gauge(label: "vhpc_job_staged_bytes")
    private let stagingNodesDone = Gauge(label: "vhpc_job_staging_nodes_done")
    private let tasks = Gauge(label: "vhpc_job_tasks")
    private let vms = Gauge(label: "vhpc_job_vms")
    private let launchFailures = Counter(label: "vhpc_job_launch_failures_total")
    private let outputLines = NIOLockedValueBox<[String: Counter]>([:])
    private let failures = NIOLockedValueBox<[String: Counter]>([:])
    private let taskEnds = NIOLockedValueBox<[String: Counter]>([:])

    init(tasks taskCount: Int, vmsPerTask: Bool) {
        tasks.record(taskCount)
        vms.record(vmsPerTask ? taskCount : 0)
    }

    func handle(_ event: JobEvent) {
        switch event {
        case .joined(let endpoints):
            agents.record(endpoints.count)  // the tasks run from here on, before wiring completes
        case .bootstrapped(let endpoints, let elapsed):
            agents.record(endpoints.count)
            bootstrapSeconds.record(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        case .failure(let notice):
            counter(in: failures, key: notice.detector) {
                Counter(label: "vhpc_agent_failures_total", dimensions: [("detector", notice.detector)])
            }.increment()
        case .output(_, let stream, let data):
            let name = stream == .stderr ? "stderr" : "stdout"
            counter(in: outputLines, key: name) {
                Counter(label: "vhpc_task_output_bytes_total", dimensions: [("stream", name)])
            }.increment(by: data.readableBytes)
        case .launchFailed:
            launchFailures.increment()
        case .stagingProgress(let bytes, _, let done, _):
            stagedBytes.record(Double(bytes))
            stagingNodesDone.record(done)
        case .staged(let bytes, let nodes, _, _):
            stagedBytes.record(Double(bytes))
            stagingNodesDone.record(nodes)
        case .taskEnded(let end):
            let outcome = end.status == 0 ? "ok" : (end.signal != nil ? "signal" : "failed")
            counter(in: taskEnds, key: outcome) {
                Counter(label: "vhpc_tasks_ended_total", dimensions: [("outcome", outcome)])
            }.increment()
        case .ending, .taskFailed, .notice:
            break
        }
    }

    private func counter(in box: NIOLockedValueBox<[String: Counter]>, key: String, make: () -> Counter) -> Counter {
        box.withLockedValue { table in
            if let existing = table[key] { return existing }
            let made = make()
            table[key] = made
            return made
        }
    }
}
