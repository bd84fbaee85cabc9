import Foundation
import HostProcess
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Starts processes on other hosts with the real OpenSSH client (`/usr/bin/ssh`).
///
/// ```swift
/// var options = SSHOptions()
/// options.configFile = "/etc/vhpc/ssh_config"     // or $VHPC_SSH_CONFIG, or OpenSSH defaults
/// let launcher = SSHLauncher(options: options, logger: logger)
/// let process = try await launcher.launch(LaunchRequest(
///     host: "node07", executable: "/usr/local/bin/vhpc-agent", arguments: ["--role", "root"],
///     standardInput: configurationJSON))
/// ```
///
/// `launch` returns once the remote shell has checked the program and is about to exec it, so an unknown
/// host, a refused connection, failed authentication, a timeout or a missing program (exit 127) is a
/// `LaunchError` naming host, command and ssh's one-line reason — not a handle to a dying client.
///
/// ## Lifetime contract (a remote process never outlives its launcher)
/// - The ssh client's stdin is a pipe whose write end only the launching process holds. The request's
///   `standardInput` bytes (e.g. the agent configuration with the job secret) are written first; the pipe then
///   **stays open** (unlike the local launcher, which closes stdin after the bytes) for as long as the
///   launching process lives, or until ``SSHProcess/closeStandardInput()``.
/// - The remote program must treat end-of-file on stdin as "my launcher is gone": terminate itself and
///   everything it started. So it must read its configuration without waiting for end-of-file (e.g. one
///   newline-terminated JSON line, or a length prefix), then keep a reader on stdin.
/// - End-of-file arrives when the launching process exits or crashes (the kernel closes the pipe), when
///   ``SSHProcess/closeStandardInput()`` is called, or when the ssh client dies (``SSHProcess/signal(_:)``
///   signals its process group; sshd then closes the channel and the remote stdin with it). The client also
///   gets `SSHOptions.parentDeathSignal` if the launching process dies, and keep-alives end it if the host
///   vanishes.
/// - Nothing secret goes on the ssh command line (visible in `ps` on both machines): `environment` is meant
///   for non-secret settings; secrets go in `standardInput`.
///
/// The remote login shell must be POSIX `sh`-compatible (see ``SSHCommandLine``).
public struct SSHLauncher: Launcher {
    public var name: String { "ssh" }
    /// How the client runs.
    public let options: SSHOptions
    private let logger: Logger
    private let configFile: String?

    /// - Parameters:
    ///   - options: client settings; `configFile` nil falls back to `$VHPC_SSH_CONFIG` from `environment`.
    ///   - environment: where `$VHPC_SSH_CONFIG` is read, and the ssh client's environment (`HOME`,
    ///     `SSH_AUTH_SOCK`…). Defaults to this process's.
    public init(
        options: SSHOptions = SSHOptions(),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger = Logger(label: "vhpc.launch.ssh")
    ) {
        self.options = options
        self.clientEnvironment = environment
        self.configFile = options.effectiveConfigFile(environment: environment)
        self.logger = logger
    }

    private let clientEnvironment: [String: String]

    public func launch(_ request: LaunchRequest) async throws -> any LaunchedProcess {
        try await launchProcess(request)
    }

    /// ``launch(_:)`` with the concrete handle (captured output, ``SSHProcess/closeStandardInput()``).
    public func launchProcess(_ request: LaunchRequest) async throws(LaunchError) -> SSHProcess {
        let command = SSHCommandLine.displayCommand(request)
        func failure(_ reason: String) -> LaunchError { LaunchError(host: request.host, command: command, reason: reason) }

        let marker = SSHCommandLine.startMarkerPrefix + Self.randomToken()
        let remote = try SSHCommandLine.remoteCommand(for: request, startMarker: marker)
        let arguments = SSHCommandLine.clientArguments(
            options: options, configFile: configFile, host: request.host, remoteCommand: remote)

        var opened: [Int32] = []
        func closeOpened() { for fd in opened { close(fd) }; opened = [] }
        let input: (read: Int32, write: Int32)
        let errorPipe: (read: Int32, write: Int32)
        var outputPipe: (read: Int32, write: Int32)? = nil
        var childOutput: Int32 = -1
        do {
            input = try ProcessSpawner.makePipe()
            opened += [input.read, input.write]
            try Self.preload(request.standardInput, into: input.write)
            errorPipe = try ProcessSpawner.makePipe()
            opened += [errorPipe.read, errorPipe.write]
            switch options.standardOutput {
            case .inherit:
                break
            case .discard:
                childOutput = open("/dev/null", O_WRONLY | O_CLOEXEC)
                guard childOutput >= 0 else { throw SpawnError(executable: "/dev/null", errorNumber: errno) }
                opened.append(childOutput)
            case .capture:
                let pipe = try ProcessSpawner.makePipe()
                outputPipe = pipe
                childOutput = pipe.write
                opened += [pipe.read, pipe.write]
            }
        } catch {
            closeOpened()
            throw failure("\(error)")
        }

        logger.debug("starting ssh", metadata: [
            "host": "\(request.host)", "command": "\(command)", "ssh.arguments": "\(arguments.dropLast())",
        ])
        let pid: pid_t
        do {
            pid = try await ProcessSpawner.spawn(
                executable: options.sshExecutable, arguments: arguments, environment: clientEnvironment,
                streams: .init(stdin: input.read, stdout: childOutput, stderr: errorPipe.write),
                newProcessGroup: true, parentDeathSignal: options.parentDeathSignal)
        } catch {
            closeOpened()
            throw failure("cannot run \(error)")
        }
        // Keep only our ends: the write end of stdin, the read ends of the output pipes.
        close(input.read)
        close(errorPipe.write)
        if childOutput >= 0 { close(childOutput) }

        let process = SSHProcess(
            host: request.host, pid: pid, command: command, options: options, standardInput: input.write,
            startMarker: marker, readsOutput: outputPipe != nil)
        Self.startReader(fd: errorPipe.read, stream: .error, process: process)
        if let outputPipe { Self.startReader(fd: outputPipe.read, stream: .output, process: process) }
        // The one unstructured task per client: it ends when the client exits, which every path below and
        // every later signal or stdin close leads to.
        Task.detached { [process] in
            let status = await ChildReaper.shared.waitForExit(pid)
            process.didExit(status: status)
        }

        let timeout = options.startTimeout
        let outcome = await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled { process.resolveStart(.timedOut) }
                }
                let outcome = await process.waitForStart()
                group.cancelAll()
                return outcome
            }
        } onCancel: {
            process.resolveStart(.cancelled)
        }

        switch outcome {
        case .started:
            logger.debug("remote command started", metadata: ["host": "\(request.host)", "ssh.pid": "\(pid)"])
            return process
        case .failed(let status, let standardError):
            throw failure(SSHCommandLine.failureReason(standardError: standardError, exitStatus: status))
        case .timedOut, .cancelled:
            process.signal(SIGKILL)
            let status = await process.waitForExit()
            let detail = SSHCommandLine.failureReason(standardError: process.preambleText, exitStatus: status)
            if case .cancelled = outcome { throw failure("launch cancelled; \(detail)") }
            throw failure("the remote command did not start within \(timeout); ssh killed; \(detail)")
        }
    }

    /// Writes the stdin payload into the fresh pipe before the client exists: no blocking (the pipe is grown
    /// to fit) and no SIGPIPE (we hold the read end).
    private static func preload(_ bytes: [UInt8], into fd: Int32) throws {
        guard !bytes.isEmpty else { return }
        #if os(Linux)
        let setPipeSize: Int32 = 1031  // F_SETPIPE_SZ
        let getPipeSize: Int32 = 1032  // F_GETPIPE_SZ
        if fcntl(fd, getPipeSize) < bytes.count, fcntl(fd, setPipeSize, Int32(clamping: bytes.count)) < bytes.count {
            throw SSHStandardInputTooLarge(size: bytes.count)
        }
        #endif
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(fd, F_SETFL, flags) }
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { throw SSHStandardInputTooLarge(size: bytes.count) }
                offset += written
            }
        }
    }

    private static func startReader(fd: Int32, stream: SSHProcess.Stream, process: SSHProcess) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                process.received(buffer[0..<count], on: stream)
            }
            close(fd)
            process.streamClosed(stream)
        }
        thread.name = "vhpc-ssh-\(stream == .error ? "err" : "out")"
        thread.start()
    }

    private static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt32, radix: 16) }.joined()
    }
}

/// The stdin payload does not fit in a pipe (`/proc/sys/fs/pipe-max-size`).
struct SSHStandardInputTooLarge: Error, CustomStringConvertible {
    var size: Int
    var description: String { "standard input payload of \(size) bytes does not fit in a pipe" }
}
