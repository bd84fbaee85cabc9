import Testing
import Topology

@Suite struct GreedyBMGRoutingTests {
    @Test func faultFreeRoutesTakeAtMostCeilLog2Hops() throws {
        for n in TestSupport.smallSizes + [200, 256, 257] {
            let routing = try GreedyBMGRouting(nodeCount: n)
            let bound = TestSupport.ceilLog2(n)
            // All pairs up to 65 ranks; beyond, every destination from a spread of sources.
            let sources = n <= 65 ? Array(0..<n) : Array(stride(from: 0, to: n, by: n / 16))
            for source in sources {
                for destination in 0..<n {
                    let path = try #require(routing.route(from: source, to: destination), "n=\(n) \(source)→\(destination)")
                    #expect(path.first == source && path.last == destination)
                    #expect(path.count - 1 <= bound, "n=\(n) \(source)→\(destination) took \(path.count - 1) hops")
                    for index in path.indices.dropFirst() {
                        #expect(routing.graph.neighbors(of: path[index - 1]).contains(path[index]))
                    }
                }
            }
        }
    }

    @Test(arguments: [4096, 10_007, 100_000])
    func faultFreeRoutesStayShortForLargeN(n: Int) throws {
        let routing = try GreedyBMGRouting(nodeCount: n)
        var generator = SplitMix64(seed: UInt64(n))
        for _ in 0..<2000 {
            let source = generator.uniform(below: n)
            let destination = generator.uniform(below: n)
            let path = try #require(routing.route(from: source, to: destination))
            #expect(path.count - 1 <= TestSupport.ceilLog2(n))
        }
    }

    @Test func routesUnderFailuresNeverTouchFailedRanksAndAlwaysProgress() throws {
        var generator = SplitMix64(seed: 3)
        for n in [16, 50, 129, 1000] {
            let routing = try GreedyBMGRouting(nodeCount: n)
            let graph = routing.graph.graph()
            let failures = TestSupport.randomFailures(graph: graph, count: n / 10, linkCount: n / 20, generator: &generator)
            var delivered = 0
            var stuck = 0
            for _ in 0..<500 {
                let source = generator.uniform(below: n)
                let destination = generator.uniform(below: n)
                guard !failures.hasFailed(node: source), !failures.hasFailed(node: destination) else { continue }
                var current = source
                while let next = routing.nextHop(from: current, to: destination, avoiding: failures) {
                    #expect(!failures.hasFailed(node: next))
                    #expect(!failures.links.contains(Link(current, next)))
                    #expect(routing.ringDistance(next, destination) < routing.ringDistance(current, destination))
                    current = next
                }
                if current == destination { delivered += 1 } else { stuck += 1 }
            }
            #expect(delivered > stuck, "n=\(n): greedy delivered \(delivered), stuck \(stuck)")
        }
    }

    @Test func breaksTiesTowardTheLowestRank() throws {
        // n = 8, from 0 to 4: ring distance 4 both ways; neighbours 1, 2, 6, 7 and 4 itself → 4 directly.
        let routing = try GreedyBMGRouting(nodeCount: 8)
        #expect(routing.nextHop(from: 0, to: 4) == 4)
        // With 4 reachable only through 2 or 6 (both two steps away), the lower rank wins.
        let failures = FailureSet(links: [Link(0, 4)])
        #expect(routing.nextHop(from: 0, to: 4, avoiding: failures) == 2)
        #expect(routing.nextHop(from: 0, to: 4, avoiding: FailureSet(nodes: [2], links: [Link(0, 4)])) == 6)
    }
}
