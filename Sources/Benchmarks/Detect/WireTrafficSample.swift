import Foundation
import HostProcess

/// TCP traffic received per process, read off the kernel's sockets (`ss -tinp`): what crossed the wire, not
/// what the protocol says it sends. Bytes are TCP payload bytes (frames with headers and MACs); data segments
/// are the frames as they arrived (a frame per segment unless the stack merged some).
struct WireTrafficSample {
    /// Per pid: payload bytes and data segments received over its established TCP sockets.
    var received: [Int32: (bytes: Int, segments: Int)] = [:]

    /// The current counters of every established TCP socket owned by one of `pids`.
    static func take(pids: Set<Int32>) throws -> WireTrafficSample {
        let data = try HostCommand("/usr/bin/ss", ["-tinpH", "state", "established"]).runAllowingFailure().stdout
        var sample = WireTrafficSample()
        var owner: Int32?
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            if !line.hasPrefix("\t"), !line.hasPrefix(" ") {
                owner = line.firstRange(of: "pid=").flatMap { range in Int32(line[range.upperBound...].prefix { $0.isNumber }) }
                continue
            }
            guard let pid = owner, pids.contains(pid) else { continue }
            let bytes = Self.field("bytes_received:", in: line)
            let segments = Self.field("data_segs_in:", in: line)
            sample.received[pid, default: (0, 0)].bytes += bytes
            sample.received[pid, default: (0, 0)].segments += segments
            owner = nil
        }
        return sample
    }

    private static func field(_ name: String, in line: Substring) -> Int {
        guard let range = line.firstRange(of: name) else { return 0 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// What each of `pids` received between `earlier` and `self`.
    func since(_ earlier: WireTrafficSample, pids: [Int32]) -> [(bytes: Int, segments: Int)] {
        pids.map { pid in
            let now = received[pid] ?? (0, 0)
            let then = earlier.received[pid] ?? (0, 0)
            return (now.bytes - then.bytes, now.segments - then.segments)
        }
    }
}
