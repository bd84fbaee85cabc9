import Foundation
import HostProcess

/// The scale simulators' heap in transparent huge pages (`vhpc bench bootstrap-model`, `stage-model`,
/// `detect-model`).
///
/// At 100,000 modelled nodes the agents' state is about a gigabyte, touched in no order the caches can
/// follow: with 4 KiB pages nearly every event also missed the TLB. glibc backs its heap with huge pages when
/// the `glibc.malloc.hugetlb=1` tunable is set (the kernel's THP mode here is `madvise`, so a process must ask),
/// and reads tunables only when a program starts; so the command starts itself again once with it set.
/// `bootstrap-model --sizes 100000 --no-latency-only`: 62.0 s wall without, 52.8 s with (this machine, idle).
/// The agents' measured CPU is the protocol code's as before, minus TLB misses a real agent's small state
/// does not have either. A `glibc.malloc.hugetlb` the user set is left as it is.
enum SimulatorHeap {
    static let tunable = "glibc.malloc.hugetlb"

    /// Starts this command again with huge pages asked for, unless the tunable is already set (or the restart
    /// fails: it then simply goes on); returns only if it goes on in this process.
    static func useHugePages() {
        let current = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]
        guard !(current ?? "").contains(tunable) else { return }
        let tunables = [current, "\(tunable)=1"].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        setenv("GLIBC_TUNABLES", tunables, 1)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        execv(ExecutableLookup.currentExecutable(), &argv)
        // Not started again (the executable is gone): go on with ordinary pages.
    }

    /// The line the model commands print first: which pages their heap is in (the figures depend on it).
    static var note: String {
        let tunables = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"] ?? ""
        let asked = tunables.split(separator: ":").contains { $0.hasPrefix("\(tunable)=") && !$0.hasSuffix("=0") }
        return asked
            ? "Heap: transparent huge pages asked of glibc (GLIBC_TUNABLES=\(tunables))."
            : "Heap: ordinary pages (GLIBC_TUNABLES=\(tunables))."
    }
}
