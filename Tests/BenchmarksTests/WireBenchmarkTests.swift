import Testing
@testable import Benchmarks

/// `vhpc bench wire`'s logic: every case runs and reports rates.
@Suite struct WireBenchmarkTests {
    @Test func runsEveryCaseOnce() {
        let results = WireBenchmark(minimumDuration: .milliseconds(1), chunkSize: 4096).run()
        #expect(results.map(\.name) == WireBenchmark.caseNames)
        #expect(results.allSatisfy { $0.operations > 0 && $0.operationsPerSecond > 0 })
        #expect(results.first { $0.name == "chunk encode+seal" }?.bytesPerOperation == 4096)
    }
}
