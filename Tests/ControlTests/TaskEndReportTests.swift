import NIOCore
import Testing
import Topology
import Wire

@testable import Control

/// A task's end goes up as one report: its exit with how many chunks each stream carried (``OutputCounts``),
/// and the front-end counts a stream as ended once that many chunks are in order. Pure state machines.
@Suite struct TaskEndReportTests {
    /// Agent 1 (parent: the controller) with its link up.
    func node() throws -> AgentMachine {
        let tree = try BootTree(kind: .tree(arity: 2), nodeCount: 4)
        var agent = try AgentMachine(configuration: .init(
            endpoint: AgentEndpoint(rank: 1, host: "h", port: 1001, pid: 1), rankCount: 4, tree: tree,
            parent: AgentEndpoint(rank: 0, host: "h", port: 1000, pid: 1)))
        _ = agent.handle(.start, now: .zero)
        _ = agent.handle(.linkUp(rank: 0), now: .zero)
        return agent
    }

    /// What went to the controller: output chunks and exit reports.
    enum Sent: Equatable {
        case output(IOStream, sequence: UInt64, end: Bool, text: String)
        case exited(task: Int, status: Int32, output: OutputCounts?)
    }

    static func sent(_ directives: [AgentDirective]) -> [Sent] {
        directives.compactMap { directive in
            guard case .send(let message, to: 0) = directive else { return nil }
            if case .ioData(let data) = message {
                return .output(data.stream, sequence: data.sequence, end: data.isEndOfStream, text: String(buffer: data.data))
            }
            if case .taskExited(_, let task, let status, _, let output)? = ControlPayload(message: message) {
                return .exited(task: task, status: status, output: output)
            }
            return nil
        }
    }

    static func output(_ stream: IOStream, _ text: String, end: Bool = false) -> AgentEvent {
        .taskOutput(task: 0, stream: stream, data: ByteBuffer(string: text), endOfStream: end)
    }

    @Test func theEndMarksOfATaskGoUpInItsExitReport() throws {
        var agent = try node()
        #expect(Self.sent(agent.handle(Self.output(.stdout, "a\n"), now: .zero)) == [.output(.stdout, sequence: 0, end: false, text: "a\n")])
        #expect(agent.handle(Self.output(.stdout, "", end: true), now: .zero).isEmpty)
        #expect(agent.handle(Self.output(.stderr, "", end: true), now: .zero).isEmpty)
        #expect(Self.sent(agent.handle(.taskExited(task: 0, status: 3, message: ""), now: .zero))
            == [.exited(task: 0, status: 3, output: OutputCounts(stdout: 1, stderr: 0))])
    }

    /// A last line without a newline comes with the end mark: it goes up as such, and counts.
    @Test func anEndThatCarriesDataGoesUpAndCounts() throws {
        var agent = try node()
        #expect(Self.sent(agent.handle(Self.output(.stderr, "tail", end: true), now: .zero)) == [.output(.stderr, sequence: 0, end: true, text: "tail")])
        _ = agent.handle(Self.output(.stdout, "", end: true), now: .zero)
        #expect(Self.sent(agent.handle(.taskExited(task: 0, status: 0, message: ""), now: .zero))
            == [.exited(task: 0, status: 0, output: OutputCounts(stdout: 0, stderr: 1))])
    }

    /// An exit reported before the streams ended (a PMI abort is reported before the process ends): the marks
    /// held so far go up first, later ones on their own, and a later exit report carries no counts.
    @Test func marksGoUpOnTheirOwnOnceAnExitWasReportedBeforeThem() throws {
        var agent = try node()
        _ = agent.handle(Self.output(.stdout, "", end: true), now: .zero)
        #expect(Self.sent(agent.handle(.taskExited(task: 0, status: 1, message: "rank 0 called MPI_Abort"), now: .zero))
            == [.output(.stdout, sequence: 0, end: true, text: ""), .exited(task: 0, status: 1, output: nil)])
        #expect(Self.sent(agent.handle(Self.output(.stderr, "", end: true), now: .zero)) == [.output(.stderr, sequence: 0, end: true, text: "")])
        #expect(Self.sent(agent.handle(.taskExited(task: 0, status: 0, message: ""), now: .zero)) == [.exited(task: 0, status: 0, output: nil)])
    }

    /// The front-end: a stream whose length came with the exit ends once that many chunks are in order.
    @Test func theJobEndsOnceTheCountedChunksAreIn() {
        var job = JobMachine(configuration: .init(taskCount: 1, nodeCount: 1), now: ContinuousClock.now)
        let now = job.started
        _ = job.handle(.bootstrapped(agents: [0, 1].map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: 1) }), now: now)
        func chunk(_ stream: IOStream, _ sequence: UInt64) -> JobMachine.Event {
            .output(Wire.IOData(launchID: 1, rank: 1, task: 0, stream: stream, sequence: sequence, data: ByteBuffer(string: "x\n")))
        }
        func ends(_ actions: [JobMachine.Action]) -> Bool { actions.contains(.report(.ending(reason: "all tasks finished", exitCode: 0))) }
        _ = job.handle(chunk(.stdout, 1), now: now)  // out of order: held
        #expect(!ends(job.handle(.taskExited(node: 1, task: 0, status: 0, message: "", output: OutputCounts(stdout: 2, stderr: 1)), now: now)))
        #expect(!ends(job.handle(chunk(.stderr, 0), now: now)))
        #expect(ends(job.handle(chunk(.stdout, 0), now: now)))
        // Streams that carried nothing end with the report.
        var empty = JobMachine(configuration: .init(taskCount: 1, nodeCount: 1), now: now)
        _ = empty.handle(.bootstrapped(agents: [0, 1].map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: 1) }), now: now)
        #expect(ends(empty.handle(.taskExited(node: 1, task: 0, status: 0, message: "", output: OutputCounts(stdout: 0, stderr: 0)), now: now)))
    }
}
