import Glibc
import CGuestSupport

/// A command the agent started: its pid (leader of its own session) and the pipe ends the agent holds.
struct RunningCommand {
    let pid: pid_t
    let stdoutFD: Int32
    let stderrFD: Int32
    var stdinFD: Int32
    var openOutputs: [Int32]
    var exitStatus: Int32?

    struct SpawnFailure: Error { let message: String }

    static func spawn(argv: [String], environment: [String], directory: String) -> Result<RunningCommand, SpawnFailure> {
        guard let program = argv.first else { return .failure(SpawnFailure(message: "empty command")) }
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard vhpc_pipe_cloexec(&inPipe) == 0, vhpc_pipe_cloexec(&outPipe) == 0, vhpc_pipe_cloexec(&errPipe) == 0 else {
            return .failure(SpawnFailure(message: "pipe: \(String(cString: strerror(errno)))"))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
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
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            return .failure(SpawnFailure(message: "\(program): \(String(cString: strerror(rc)))"))
        }
        for fd in [outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return .success(RunningCommand(pid: pid, stdoutFD: outPipe[0], stderrFD: errPipe[0], stdinFD: inPipe[1],
                                       openOutputs: [outPipe[0], errPipe[0]], exitStatus: nil))
    }

    mutating func writeStdin(_ bytes: [UInt8]) {
        guard stdinFD >= 0 else { return }
        if bytes.isEmpty {
            close(stdinFD)
            stdinFD = -1
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
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

    mutating func closeAll() {
        for fd in openOutputs { close(fd) }
        openOutputs = []
        if stdinFD >= 0 { close(stdinFD); stdinFD = -1 }
    }
}
