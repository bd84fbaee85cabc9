import Testing
@testable import WireCore
import Wire

@Suite struct WireBenchmarkTests {
    @Test func runsEveryCaseOnce() {
        let results = WireBenchmark(minimumDuration: .milliseconds(1), chunkSize: 4096).run()
        #expect(results.map(\.name) == WireBenchmark.caseNames)
        #expect(results.allSatisfy { $0.operations > 0 && $0.operationsPerSecond > 0 })
        #expect(results.first { $0.name == "chunk encode+seal" }?.bytesPerOperation == 4096)
    }

    @Test func systemNoncesDiffer() {
        #expect(NonceSource.system.next() != NonceSource.system.next())
        #expect(PeerIdentity(rank: 7, role: .toolAgent, index: 2).description == "toolAgent#7.2")
    }
}
