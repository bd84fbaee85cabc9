import Testing
import Topology

@Suite struct SplitMix64Tests {
    @Test func matchesReferenceSequenceForSeedZero() {
        // Published SplitMix64 outputs for seed 0.
        var generator = SplitMix64(seed: 0)
        #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
        #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(generator.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func sameSeedSameSequence() {
        var a = SplitMix64(seed: 42)
        var b = SplitMix64(seed: 42)
        var c = SplitMix64(seed: 43)
        let first = (0..<100).map { _ in a.next() }
        #expect(first == (0..<100).map { _ in b.next() })
        #expect(first != (0..<100).map { _ in c.next() })
    }

    @Test func uniformStaysInBoundsAndCoversThem() {
        var generator = SplitMix64(seed: 7)
        for bound in [1, 2, 3, 7, 10, 1000] {
            var seen = Set<Int>()
            for _ in 0..<(bound * 50) {
                let value = generator.uniform(below: bound)
                #expect((0..<bound).contains(value))
                seen.insert(value)
            }
            #expect(seen.count == bound)
        }
    }

    @Test func randomFailuresAreDeterministicDistinctAndSpareRankZero() throws {
        var a = SplitMix64(seed: 5)
        var b = SplitMix64(seed: 5)
        let first = try FailureSet.random(count: 50, nodeCount: 200, using: &a)
        let second = try FailureSet.random(count: 50, nodeCount: 200, using: &b)
        #expect(first == second)
        #expect(first.nodes.count == 50)
        #expect(!first.nodes.contains(0))
        #expect(first.nodes.allSatisfy { (1..<200).contains($0) })
        var c = SplitMix64(seed: 5)
        #expect(throws: TopologyError.tooManyFailures(requested: 200, available: 199)) {
            try FailureSet.random(count: 200, nodeCount: 200, using: &c)
        }
    }
}
