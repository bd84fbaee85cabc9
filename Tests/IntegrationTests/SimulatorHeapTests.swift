import Foundation
import Testing

/// The model benchmarks restart themselves once with their heap in transparent huge pages (``SimulatorHeap``),
/// keeping the tunables the user set, and leave a `glibc.malloc.hugetlb` the user chose alone.
@Suite struct SimulatorHeapTests {
    static let arguments = ["bench", "bootstrap-model", "--sizes", "16", "--repeat", "1", "--no-latency-only"]
    static let restarted = "VHPC_HEAP_RESTARTED"

    @Test func theModelRestartsWithHugePagesKeepingTheUsersTunables() throws {
        let result = try CLI.run(Self.arguments, environment: ["GLIBC_TUNABLES": "glibc.malloc.perturb=0"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Heap: transparent huge pages asked of glibc (GLIBC_TUNABLES=glibc.malloc.perturb=0:glibc.malloc.hugetlb=1)."),
                "\(result.stdout)")
        #expect(result.stdout.split(separator: "\n").contains { $0.hasPrefix("16 ") }, "no row for 16 agents: \(result.stdout)")
    }

    @Test func withoutTunablesTheFirstLineSaysHugePages() throws {
        let result = try CLI.run(program: "/usr/bin/env", ["-u", "GLIBC_TUNABLES", "-u", Self.restarted, CLI.vhpc] + Self.arguments,
                                 timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        let first = result.stdout.split(separator: "\n").first.map(String.init)
        #expect(first == "Heap: transparent huge pages asked of glibc (GLIBC_TUNABLES=glibc.malloc.hugetlb=1).", "\(result.stdout)")
    }

    @Test func aHugetlbTheUserSetIsLeftAlone() throws {
        let result = try CLI.run(Self.arguments, environment: ["GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"], timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Heap: ordinary pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=0)."), "\(result.stdout)")
    }
}
