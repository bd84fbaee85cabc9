import Testing

@testable import Control

/// Detection and rerouting on the modelled cluster: the real agent state machines, agents killed or hung.
@Suite struct DetectionSimulationTests {
    static let model = BootstrapModel.latencyOnly(link: .microseconds(25), spawn: .milliseconds(10))

    @Test(arguments: DetectionSimulation.Fault.allCases)
    func everyFailedAgentIsDeclaredAndNoOther(fault: DetectionSimulation.Fault) throws {
        let outcome = try DetectionSimulation.run(
            nodes: 200, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), fault: fault, fraction: 0.02, period: .seconds(1))
        #expect(outcome.failed == 4)
        #expect(outcome.declared == 4)
        #expect(outcome.falsePositives == 0)
        // kill -9: the connection closes (and the parent's SIGCHLD fires) at once; a hung agent is silent for
        // a timeout (1.5 periods), suspected, and declared a timeout later.
        let bound: Duration = fault == .kill ? .milliseconds(10) : .seconds(4)
        #expect(outcome.maxLatency.map { $0 <= bound } == true, "\(String(describing: outcome.maxLatency))")
        // Both ends of each watched link (tree, ring ±1/±2) ping once per period and answer pings: a fixed
        // number of heartbeat frames per agent, not one growing with N.
        #expect(outcome.heartbeat.meanFrames >= 8 && outcome.heartbeat.meanFrames <= 20, "\(outcome.heartbeat)")
        #expect(outcome.exits.isEmpty)
    }

    @Test(arguments: DetectionSimulation.Pattern.allCases)
    func reportsFromEverySurvivorReachTheControllerAfterDegreeMinusOneFailures(pattern: DetectionSimulation.Pattern) throws {
        let outcome = try DetectionSimulation.reroute(nodes: 300, fanout: 4, model: Self.model, cpu: .fixed(perEvent: .zero), pattern: pattern)
        #expect(outcome.failed == 17)  // the binomial graph of 301 ranks has degree 18
        #expect(outcome.reached == outcome.survivors, "unreached: \(outcome.unreached)")
        #expect(outcome.exits.isEmpty)
    }
}
