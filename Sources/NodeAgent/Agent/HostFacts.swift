import Control
import Foundation

/// This machine's capacity for ``JobCapacity``: cores, `MemAvailable`, and the smaller of RLIMIT_NPROC and
/// the kernel's threads-max.
public enum HostFacts {
    public static func current() -> JobCapacity.Host {
        var available: UInt64 = .max
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) }) {
            available = kilobytes * 1024
        }
        var limits: [Int] = []
        var rlim = rlimit()
        if getrlimit(Int32(__RLIMIT_NPROC.rawValue), &rlim) == 0, rlim.rlim_cur != rlim_t.max { limits.append(Int(clamping: rlim.rlim_cur)) }
        if let text = try? String(contentsOfFile: "/proc/sys/kernel/threads-max", encoding: .utf8),
           let value = text.split(whereSeparator: \.isWhitespace).first.flatMap({ Int($0) }) {  // not NSString's trimming: ~0.3 ms of every run's start
            limits.append(value)
        }
        return JobCapacity.Host(cores: ProcessInfo.processInfo.activeProcessorCount, availableMemory: available,
                                processLimit: limits.min())
    }

    /// The machine's memory (`MemTotal`): what a node offers its VMs before the planner splits it.
    public static func totalMemory() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ UInt64($0) }) else { return 1 << 30 }
        return kilobytes * 1024
    }
}
