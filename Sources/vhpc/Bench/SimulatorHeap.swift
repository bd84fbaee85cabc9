import Foundation

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
    /// glibc's tunable: 1 asks for transparent huge pages, 2 for hugetlbfs pages, 0 for neither.
    static let tunable = "glibc.malloc.hugetlb"
    /// Set in the restarted command: it never restarts again, whatever became of `GLIBC_TUNABLES`.
    static let restartedVariable = "VHPC_HEAP_RESTARTED"

    /// Starts this command again with huge pages asked for, unless the tunable is already set or this is the
    /// restarted command; returns only if it goes on in this process (then, if the restart failed, with a
    /// warning and the environment as it was). Call it before the command writes anything: what is buffered
    /// is lost at the restart.
    static func useHugePages() {
        let environment = ProcessInfo.processInfo.environment
        let current = environment["GLIBC_TUNABLES"]
        guard environment[restartedVariable] == nil, !(current ?? "").contains(tunable) else { return }
        let tunables = [current, "\(tunable)=1"].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ":")
        setenv("GLIBC_TUNABLES", tunables, 1)
        setenv(restartedVariable, "1", 1)
        var argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        // The running executable through the kernel's link: it can be started even if its file was replaced
        // or removed since (a rebuild), where the path it names can not.
        execv("/proc/self/exe", &argv)
        let reason = String(cString: strerror(errno))
        for argument in argv { free(argument) }
        if let current { setenv("GLIBC_TUNABLES", current, 1) } else { unsetenv("GLIBC_TUNABLES") }
        unsetenv(restartedVariable)
        FileHandle.standardError.write(Data("vhpc: warning: could not restart with the heap in huge pages (\(reason)); going on with ordinary pages\n".utf8))
    }

    /// The line the model commands print first: which pages their heap is in (the figures depend on it).
    static var note: String {
        let tunables = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"] ?? ""
        let value = tunables.split(separator: ":").last { $0.hasPrefix("\(tunable)=") }?.dropFirst(tunable.count + 1)
        switch value {
        case "1": return "Heap: transparent huge pages asked of glibc (GLIBC_TUNABLES=\(tunables))."
        case "2": return "Heap: hugetlbfs pages asked of glibc (GLIBC_TUNABLES=\(tunables))."
        default: return "Heap: ordinary pages (GLIBC_TUNABLES=\(tunables))."
        }
    }
}
