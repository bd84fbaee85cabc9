import NIOCore
import Testing
import Topology
import Wire

@testable import Control

/// A connection that closes while both agents live (a cut link) is re-established instead of declaring the
/// peer failed; a peer that cannot be reached again is declared failed.
@Suite struct LinkRecoveryTests {
    static let endpoints = (0..<3).map { AgentEndpoint(rank: $0, host: "h", port: 1000 + $0, pid: 1) }

    /// Agent `rank` of a 3-rank job (controller 0, leaves 1 and 2), driven to the running phase.
    func running(rank: Int) throws -> AgentMachine {
        let tree = try BootTree(kind: .tree(arity: 2), nodeCount: 3)
        var agent = try AgentMachine(configuration: .init(
            endpoint: Self.endpoints[rank], rankCount: 3, tree: tree, handshakeWindow: .seconds(5),
            heartbeatPeriod: nil, parent: Self.endpoints[0]))
        _ = agent.handle(.start, now: .zero)
        _ = agent.handle(.linkUp(rank: 0), now: .zero)
        _ = agent.handle(.message(ControlPayload.addressTable(endpoints: Self.endpoints, failed: []).message, from: 0), now: .zero)
        _ = agent.handle(.linkUp(rank: 3 - rank), now: .zero)
        _ = agent.handle(.message(.launch(LaunchCommand(id: 1, executable: "true")), from: 0), now: .zero)
        #expect(agent.phase == .running)
        return agent
    }

    func failures(_ directives: [AgentDirective]) -> [Int] {
        directives.compactMap { if case .send(.failureReport(let report), _) = $0 { return Int(report.failed) } else { return nil } }
    }

    // Ranks 1 and 2 of 3 are 1 apart both ways round the ring: the lower rank dials that link (LocalRouter.dials).
    @Test func theDiallingEndRedialsAndTheLinkComesBackWithoutAFailure() throws {
        var agent = try running(rank: 1)
        let down = agent.handle(.linkDown(rank: 2), now: .seconds(1))
        #expect(down.contains(.dial(rank: 2, host: "h", port: 1002)))
        #expect(failures(down).isEmpty)
        #expect(failures(agent.handle(.linkUp(rank: 2), now: .milliseconds(1100))).isEmpty)
        #expect(failures(agent.handle(.tick, now: .seconds(4))).isEmpty)
        #expect(agent.failures.isEmpty)
    }

    @Test func aRefusedRedialDeclaresThePeerFailed() throws {
        var agent = try running(rank: 1)
        _ = agent.handle(.linkDown(rank: 2), now: .seconds(1))
        let refused = agent.handle(.dialFailed(rank: 2, detail: "connection refused"), now: .milliseconds(1002))
        #expect(failures(refused) == [2])
        #expect(agent.failures[2]?.detail.contains("connection refused") == true)
    }

    @Test func theOtherEndWaitsForTheRedialThenGivesUp() throws {
        var agent = try running(rank: 2)
        let down = agent.handle(.linkDown(rank: 1), now: .seconds(1))
        #expect(!down.contains { if case .dial = $0 { return true } else { return false } })
        #expect(failures(agent.handle(.tick, now: .milliseconds(2500))).isEmpty)
        #expect(failures(agent.handle(.tick, now: .seconds(3))) == [1])
    }

    @Test func aChildWhoseProcessExitedIsDeclaredFailedAtOnce() throws {
        var agent = try running(rank: 1)
        _ = agent.handle(.childExited(rank: 2, status: 9), now: .seconds(1))
        #expect(failures(agent.handle(.linkDown(rank: 2), now: .seconds(1))) == [2])
    }
}
