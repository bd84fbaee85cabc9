import ArgumentParser
import Benchmarks
import Foundation
import Logging
import TextReport
import V2M
import VSE

/// `vhpc bench vm`: qemu and libvirt side by side on the same image — start-to-guest-ready, pause/resume
/// latency (median, p99 over ≥ 50 operations), graceful stop, N parallel starts.
struct BenchVMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vm", abstract: "VM lifecycle latency benchmark.")

    @Option(help: "Image name or id.") var image: String = "tiny"
    @Option(help: "Plug-ins to compare, comma-separated.") var hypervisors: String = "qemu,libvirt"
    @Option(help: "Pause/resume operations per plug-in.") var operations: Int = 50
    @Option(help: "Parallel start counts, comma-separated.") var parallel: String = "1,2,4,8"
    @Option(help: "Accelerator: auto, kvm or tcg.") var accel: AcceleratorChoice = .auto

    func validate() throws {
        if operations < 1 { throw ValidationError("--operations must be at least 1") }
    }

    func run() async throws {
        LoggingSetup.bootstrap(verbose: false)
        let state = StateDirectory.resolve()
        let logger = Logger(label: "vhpc.bench.vm")
        do {
            let entry = try ImageStore(state: state).resolve(image)
            let selector = HypervisorSelector(state: state, accelerator: accel, probeImage: entry, logger: logger)
            let verdict = await selector.acceleratorVerdict()
            let cores = ProcessInfo.processInfo.activeProcessorCount
            print("image \(entry.manifest.name) (\(entry.manifest.id.prefix(12))), accelerator \(verdict.accelerator) (\(verdict.reason)), \(cores) cores")
            var reports: [VMBenchmark.Report] = []
            for name in hypervisors.split(separator: ",") {
                guard let kind = HypervisorKind(rawValue: String(name)) else {
                    throw ValidationError("unknown hypervisor '\(name)'")
                }
                let (plugin, explanation) = try await selector.select(.specific(kind))
                FileHandle.standardError.write(Data("bench: \(explanation)\n".utf8))
                let bench = VMBenchmark(hypervisor: plugin, image: entry, state: state, operations: operations,
                                        parallelCounts: parallel.split(separator: ",").compactMap { Int($0) })
                reports.append(try await bench.run(progress: { FileHandle.standardError.write(Data("bench: \($0)\n".utf8)) }))
            }
            func ms(_ d: Duration) -> String { String(format: "%.1f ms", d.seconds * 1000) }
            func s(_ d: Duration) -> String { String(format: "%.2f s", d.seconds) }
            var rows = [["metric"] + reports.map(\.kind.rawValue)]
            rows.append(["start → guest ready"] + reports.map { s($0.startToReady) })
            rows.append(["pause median (n=\(operations))"] + reports.map { ms($0.pause.median) })
            rows.append(["pause p99"] + reports.map { ms($0.pause.p99) })
            rows.append(["resume median"] + reports.map { ms($0.resume.median) })
            rows.append(["resume p99"] + reports.map { ms($0.resume.p99) })
            rows.append(["graceful stop"] + reports.map { s($0.gracefulStop) + ($0.gracefulStopWasClean ? "" : " (killed)") })
            for (index, _) in (reports.first?.parallelStarts ?? []).enumerated() {
                let count = reports[0].parallelStarts[index].count
                rows.append(["\(count) parallel starts (target ≤ 1.5×N/cores×one)"] + reports.map { report in
                    let wall = report.parallelStarts[index].wall
                    let one = report.parallelStarts.first?.wall ?? report.startToReady
                    let bound = one * (1.5 * max(1, Double(count) / Double(cores)))
                    return "\(s(wall)) (bound \(s(bound)) \(wall <= bound ? "ok" : "over"))"
                })
            }
            print(TextTable.render(rows), terminator: "")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw CLIErrors.fail("\(error)")
        }
    }
}
