import Control
import Foundation
import NIOConcurrencyHelpers

/// Keeps `<state dir>/jobs/<job>.json` up to date for `vhpc status`.
final class JobRecordWriter: Sendable {
    let options: JobOptions
    private let failures = NIOLockedValueBox<[FailureNotice]>([])
    private let agents = NIOLockedValueBox<[AgentEndpoint]>([])
    private let state = NIOLockedValueBox<String>("starting")

    init(options: JobOptions) {
        self.options = options
    }

    func noteFailure(_ notice: FailureNotice) {
        failures.withLockedValue { $0.append(notice) }
        write(state: nil, agents: nil, failures: nil)
    }

    func write(state newState: String?, agents newAgents: [AgentEndpoint]?, failures newFailures: [FailureNotice]?) {
        if let newState { state.withLockedValue { $0 = newState } }
        if let newAgents, !newAgents.isEmpty { agents.withLockedValue { $0 = newAgents } }
        if let newFailures, !newFailures.isEmpty { failures.withLockedValue { $0 = newFailures } }
        let record = JobRecord(
            jobID: options.jobID, frontEndPID: getpid(), nodes: options.nodeCount, tasks: options.taskCount,
            fanout: options.fanout, command: ([options.executable] + options.arguments).joined(separator: " "),
            state: state.withLockedValue { $0 }, started: Date(),
            agents: agents.withLockedValue { $0 }, failures: failures.withLockedValue { $0 })
        try? record.save()
    }
}
