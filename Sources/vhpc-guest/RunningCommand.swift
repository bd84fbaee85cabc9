import Glibc
import CGuestSupport

/// A command the agent started: its pid (leader of its own session) and the pipe ends the agent holds.
/// An MPI task (its environment has `PMI_RANK`) also gets a socketpair as `PMI_FD` (fd 3), whose other
/// end the agent relays to the host's PMI server; one whose environment names a PMIx server gets a
/// ``PMIxRelay`` on the guest's loopback instead of it.
struct RunningCommand {
    let pid: pid_t
    let stdoutFD: Int32
    let stderrFD: Int32
    var stdinFD: Int32
    var openOutputs: [Int32]
    var exitStatus: Int32?
    /// The agent's end of the PMI socketpair, or -1.
    var pmiFD: Int32 = -1
    /// The command's PMIx connections, when the host serves it PMIx.
    var pmix: PMIxRelay?
    /// Stdin from the host not yet taken by the pipe, and whether end-of-file follows it.
    var pendingStdin: [UInt8] = []
    var stdinClosing = false

    struct SpawnFailure: Error { let message: String }

    static func spawn(argv: [String], environment: [String], directory: String) -> Result<RunningCommand, SpawnFailure> {
        guard let program = argv.first else { return .failure(SpawnFailure(message: "empty command")) }
        // Said apart from a missing program (posix_spawn reports both as ENOENT): the host maps this to exit 1.
        if !directory.isEmpty {
            var info = stat()
            if stat(directory, &info) != 0 || access(directory, X_OK) != 0 {
                return .failure(SpawnFailure(message: "cannot change to directory \(directory): \(String(cString: strerror(errno)))"))
            }
            if (info.st_mode & S_IFMT) != S_IFDIR {
                return .failure(SpawnFailure(message: "cannot change to directory \(directory): \(String(cString: strerror(ENOTDIR)))"))
            }
        }
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard vhpc_pipe_cloexec(&inPipe) == 0, vhpc_pipe_cloexec(&outPipe) == 0, vhpc_pipe_cloexec(&errPipe) == 0 else {
            return .failure(SpawnFailure(message: "pipe: \(String(cString: strerror(errno)))"))
        }
        var environment = environment
        var pmiPair: [Int32] = [-1, -1]
        if environment.contains(where: { $0.hasPrefix("PMI_RANK=") }) {
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pmiPair) == 0 else {
                let reason = String(cString: strerror(errno))
                for fd in inPipe + outPipe + errPipe { close(fd) }
                return .failure(SpawnFailure(message: "socketpair: \(reason)"))
            }
            environment.append("PMI_FD=3")
        }
        var pmix: PMIxRelay?
        if PMIxRelay.wanted(environment) {
            switch PMIxRelay.listen() {
            case .success(let relay):
                pmix = relay
                environment = relay.pointing(environment)
            case .failure(let failure):
                for fd in inPipe + outPipe + errPipe + pmiPair where fd >= 0 { close(fd) }
                return .failure(failure)
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if pmiPair[1] >= 0 { posix_spawn_file_actions_adddup2(&actions, pmiPair[1], 3) }
        if !directory.isEmpty { vhpc_spawn_addchdir(&actions, directory) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        sigaddset(&defaultSignals, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, vhpc_spawn_flag_setsid() | Int16(POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        let rc = posix_spawnp(&pid, program, &actions, &attributes, cArgs, cEnv)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        if pmiPair[1] >= 0 { close(pmiPair[1]) }
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            if pmiPair[0] >= 0 { close(pmiPair[0]) }
            pmix?.closeAll()
            return .failure(SpawnFailure(message: "\(program): \(String(cString: strerror(rc)))"))
        }
        for fd in [outPipe[0], errPipe[0], pmiPair[0], inPipe[1]] where fd >= 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return .success(RunningCommand(pid: pid, stdoutFD: outPipe[0], stderrFD: errPipe[0], stdinFD: inPipe[1],
                                       openOutputs: [outPipe[0], errPipe[0]], exitStatus: nil, pmiFD: pmiPair[0], pmix: pmix))
    }

    /// Queues bytes for the command's stdin (empty: end-of-file once the queue is written) and writes what
    /// the pipe takes now: the agent never blocks on a command that does not read its input.
    mutating func writeStdin(_ bytes: [UInt8]) {
        guard stdinFD >= 0 else { return }
        if bytes.isEmpty { stdinClosing = true } else { pendingStdin += bytes }
        flushStdin()
    }

    /// Whether queued stdin waits for the pipe to take it (the loop then polls for POLLOUT).
    var wantsStdinWrite: Bool { stdinFD >= 0 && !pendingStdin.isEmpty }

    /// Writes queued stdin until the pipe is full; closes it after end-of-file, or when the command is gone.
    mutating func flushStdin() {
        guard stdinFD >= 0 else { return }
        while !pendingStdin.isEmpty {
            let n = pendingStdin.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return }
            if n <= 0 {
                pendingStdin = []  // EPIPE: nobody reads any more
                stdinClosing = true
                break
            }
            pendingStdin.removeFirst(n)
        }
        if stdinClosing {
            close(stdinFD)
            stdinFD = -1
        }
    }

    mutating func pollExit() {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return }
        let signal = status & 0x7f
        exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    mutating func closeOutput(_ fd: Int32) {
        close(fd)
        openOutputs.removeAll { $0 == fd }
    }

    /// Writes a reply from the host's PMI server to the task (PMI replies are short; the socket's buffer
    /// holds them).
    func writePMI(_ bytes: [UInt8]) {
        guard pmiFD >= 0 else { return }
        Self.writeAll(pmiFD, bytes)
    }

    /// Writes all of `bytes` unless the descriptor fails; retries interrupted and would-block writes.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if n <= 0 { break }
            offset += n
        }
    }

    mutating func closePMI() {
        if pmiFD >= 0 { close(pmiFD); pmiFD = -1 }
    }

    mutating func closeAll() {
        for fd in openOutputs { close(fd) }
        openOutputs = []
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
        closePMI()
        pmix?.closeAll()
        pmix = nil
    }
}
