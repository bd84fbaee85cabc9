import ArgumentParser
import Benchmarks
import Foundation
import Wire

/// `vhpc bench wire`: codec and MAC throughput on one core, next to the machine's raw hash speed.
struct BenchWireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Codec and MAC throughput benchmark.",
        discussion: """
            Measures, on one core: small control messages (ping, a stdout line) through encode and decode, \
            with and without the session MAC, in messages per second; 1 MiB file chunks through codec and \
            HMAC-SHA256 MAC in GB/s; and, for comparison, raw HMAC-SHA256, SHA-256, AES-GCM and ChaChaPoly \
            over the same 1 MiB. Build with -c release for meaningful figures.
            """
    )

    @Option(help: "Seconds to run each case.")
    var seconds: Double = 1

    @Option(help: "File chunk size in bytes.")
    var chunkSize: Int = 1 << 20

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard (1...(8 << 20)).contains(chunkSize) else { throw ValidationError("--chunk-size must be 1 B...8 MiB") }
    }

    func run() async throws {
        #if DEBUG
        print("warning: debug build; run `swift build -c release` for meaningful figures")
        #endif
        let benchmark = WireBenchmark(minimumDuration: .milliseconds(Int(seconds * 1000)), chunkSize: chunkSize)
        print("vhpc bench wire — one core, \(Self.cpuModel()), chunk \(chunkSize) bytes")
        print("")
        let header = Self.row("case", "ops/s", "GB/s", "ns/op")
        print(header)
        print(String(repeating: "-", count: header.count))
        let results = benchmark.run { result in
            print(Self.row(
                result.name,
                Self.format(result.operationsPerSecond, decimals: 0),
                result.bytesPerOperation == 0 ? "-" : Self.format(result.bytesPerSecond / 1e9, decimals: 2),
                Self.format(1e9 / result.operationsPerSecond, decimals: 0)
            ))
        }
        let byName = Dictionary(uniqueKeysWithValues: results.map { ($0.name, $0.bytesPerSecond / 1e9) })
        let sender = byName["chunk encode+seal"] ?? 0
        let receiver = byName["chunk open+decode"] ?? 0
        let hmac = byName["HMAC-SHA256"] ?? 0
        print("")
        print("chunks through codec+MAC: sender \(Self.format(sender, decimals: 2)) GB/s, receiver "
            + "\(Self.format(receiver, decimals: 2)) GB/s (target ≥ 1 GB/s: \(min(sender, receiver) >= 1 ? "met" : "not met")); "
            + "raw HMAC-SHA256 \(Self.format(hmac, decimals: 2)) GB/s is the ceiling")
    }

    static func row(_ name: String, _ rate: String, _ throughput: String, _ latency: String) -> String {
        name.padding(toLength: 32, withPad: " ", startingAt: 0)
            + pad(rate, 14) + pad(throughput, 8) + pad(latency, 12)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    static func format(_ value: Double, decimals: Int) -> String {
        String(format: "%.\(decimals)f", value)
    }

    static func cpuModel() -> String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let name = line.split(separator: ":", maxSplits: 1).last
        else { return "unknown CPU" }
        return name.trimmingCharacters(in: .whitespaces)
    }
}
