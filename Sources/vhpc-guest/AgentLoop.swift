import Glibc
import CGuestSupport
import GuestProtocol
import NIOCore

/// The agent's event loop: channel I/O (a Wire link, see `GuestLinkEndpoint`), running commands, the 10 Hz
/// liveness counter.
struct AgentLoop {
    let port: VirtioPort
    let environment: GuestEnvironment
    private var link: GuestLinkEndpoint
    private var outgoing: [UInt8] = []
    private var outgoingOffset = 0
    private var commands: [UInt32: RunningCommand] = [:]
    private var counter: UInt64 = 0
    private let start = monotonicMilliseconds()
    private var nextTick: UInt64

    init(port: VirtioPort, environment: GuestEnvironment, link: GuestLinkEndpoint) {
        self.port = port
        self.environment = environment
        self.link = link
        self.nextTick = monotonicMilliseconds() + 100
    }

    mutating func run() {
        while true {
            var fds = [pollfd(fd: port.fd, events: Int16(POLLIN | (hasOutgoing ? POLLOUT : 0)), revents: 0)]
            var owners: [(UInt32, Int32)] = []
            var stdinWriters: [(index: Int, id: UInt32)] = []
            for (id, command) in commands {
                for fd in command.openOutputs + (command.pmiFD >= 0 ? [command.pmiFD] : []) {
                    fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
                    owners.append((id, fd))
                }
            }
            for (id, command) in commands where command.wantsStdinWrite {
                stdinWriters.append((fds.count, id))
                fds.append(pollfd(fd: command.stdinFD, events: Int16(POLLOUT), revents: 0))
            }
            // PMIx relays: the listener (connection 0) and each connection, writable when the host's bytes wait.
            var relayPolls: [(index: Int, id: UInt32, connection: UInt32)] = []
            for (id, command) in commands {
                guard let relay = command.pmix else { continue }
                relayPolls.append((fds.count, id, 0))
                fds.append(pollfd(fd: relay.listenFD, events: Int16(POLLIN), revents: 0))
                for (number, connection) in relay.connections {
                    relayPolls.append((fds.count, id, number))
                    fds.append(pollfd(fd: connection.fd, events: Int16(POLLIN | (connection.pending.isEmpty ? 0 : POLLOUT)), revents: 0))
                }
            }
            let now = monotonicMilliseconds()
            let timeout = Int32(nextTick > now ? min(nextTick - now, 100) : 0)
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 && errno != EINTR { break }
            tick()
            if fds[0].revents & Int16(POLLHUP) != 0 {
                // No host connected: virtio reports HUP until one connects; don't spin. The next host
                // starts with a fresh handshake.
                link.reset()
                outgoing.removeAll(keepingCapacity: true)
                outgoingOffset = 0
                usleep(20_000)
            }
            if fds[0].revents & Int16(POLLIN) != 0 { readChannel() }
            if fds[0].revents & Int16(POLLOUT) != 0 { flush() }
            for (index, owner) in owners.enumerated() where fds[index + 1].revents != 0 {
                forwardOutput(id: owner.0, fd: owner.1)
            }
            for writer in stdinWriters where fds[writer.index].revents != 0 {
                commands[writer.id]?.flushStdin()
            }
            for poll in relayPolls where fds[poll.index].revents != 0 {
                relayEvent(id: poll.id, connection: poll.connection, revents: fds[poll.index].revents)
            }
            reapCommands()
        }
    }

    private var hasOutgoing: Bool { outgoingOffset < outgoing.count }

    private mutating func tick() {
        let now = monotonicMilliseconds()
        guard now >= nextTick else { return }
        counter += 1
        // Count guest execution time only: after a long stall (VM paused) do not catch up.
        nextTick = now - nextTick > 200 ? now + 100 : nextTick + 100
    }

    private func readyInfo() -> GuestInfo {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let host = withUnsafeBytes(of: names.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return GuestInfo(kernelRelease: release, hostname: host, vseName: environment.vseName,
                         agentVersion: GuestAgent.agentVersion, counter: counter)
    }

    // MARK: channel

    private mutating func send(_ message: GuestMessage) {
        guard let bytes = link.send(message) else { return }  // no authenticated host: nobody to tell
        outgoing += bytes
        flush()
    }

    private mutating func flush() {
        while hasOutgoing {
            let n = outgoing[outgoingOffset...].withUnsafeBytes { write(port.fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            outgoingOffset += n
        }
        if !hasOutgoing {
            outgoing.removeAll(keepingCapacity: true)
            outgoingOffset = 0
        }
    }

    private mutating func readChannel() {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = read(port.fd, &chunk, chunk.count)
        guard n > 0 else { return }
        let events = chunk.withUnsafeBytes { link.receive(UnsafeRawBufferPointer(rebasing: $0.prefix(n)), now: .now()) }
        for event in events {
            switch event {
            case .reset:
                outgoing.removeAll(keepingCapacity: true)
                outgoingOffset = 0
            case .send(let bytes):
                outgoing += bytes
                flush()
            case .established:
                send(.ready(readyInfo()))
            case .message(let message):
                handle(message)
            case .failed(let reason):
                writeStderr("vhpc-guest: \(reason)\n")
            }
        }
    }

    private mutating func handle(_ message: GuestMessage) {
        switch message {
        case .statusRequest:
            send(.status(counter: counter, uptimeMilliseconds: monotonicMilliseconds() - start))
        case .exec(let id, let argv, let extra, let directory):
            switch RunningCommand.spawn(argv: argv, environment: environment.merged(with: extra), directory: directory) {
            case .success(let command): commands[id] = command
            case .failure(let reason): send(.execFailed(id: id, reason: reason.message))
            }
        case .stdin(let id, let bytes):
            commands[id]?.writeStdin(bytes)
        case .pmi(let id, let bytes):
            if bytes.isEmpty {
                commands[id]?.closePMI()  // the host ended the connection: the client reads end-of-file
            } else {
                commands[id]?.writePMI(bytes)
            }
        case .pmix(let id, let connection, let bytes):
            guard var relay = commands[id]?.pmix else { break }
            let alive = relay.write(connection, bytes)
            commands[id]?.pmix = relay
            if !alive { send(.pmix(id: id, connection: connection, bytes: [])) }
        case .signal(let id, let signal):
            if let pid = commands[id]?.pid { kill(-pid, signal) }
        case .shutdown(let reboot):
            for command in commands.values { kill(-command.pid, SIGKILL) }
            _ = vhpc_power_off(reboot ? 1 : 0)
        case .ready, .output, .exited, .execFailed, .status:
            break  // host-bound messages; ignore if echoed
        }
    }

    // MARK: commands

    private mutating func forwardOutput(id: UInt32, fd: Int32) {
        guard var command = commands[id] else { return }
        var chunk = [UInt8](repeating: 0, count: GuestMessageBody.maximumChunk)
        let n = read(fd, &chunk, chunk.count)
        if fd == command.pmiFD {
            if n > 0 {
                send(.pmi(id: id, bytes: Array(chunk[0..<n])))
            } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
                command.closePMI()
                commands[id] = command
            }
            return
        }
        if n > 0 {
            let stream: GuestMessage.OutputStream = fd == command.stdoutFD ? .stdout : .stderr
            send(.output(id: id, stream: stream, bytes: Array(chunk[0..<n])))
        } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
            command.closeOutput(fd)
            commands[id] = command
        }
    }

    /// A PMIx relay's listener (`connection` 0: accept) or connection (read, or write what waits) is ready.
    private mutating func relayEvent(id: UInt32, connection: UInt32, revents: Int16) {
        guard var relay = commands[id]?.pmix else { return }
        defer { commands[id]?.pmix = relay }
        if connection == 0 {
            relay.acceptAll()
            return
        }
        if revents & Int16(POLLOUT) != 0, !relay.flush(connection) {
            send(.pmix(id: id, connection: connection, bytes: []))
            return
        }
        guard revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return }
        if let bytes = relay.read(connection) {
            if !bytes.isEmpty { send(.pmix(id: id, connection: connection, bytes: bytes)) }
        } else {
            send(.pmix(id: id, connection: connection, bytes: []))
        }
    }

    private mutating func reapCommands() {
        for (id, var command) in commands {
            if command.exitStatus == nil { command.pollExit() }
            commands[id] = command
            if let status = command.exitStatus, command.openOutputs.isEmpty {
                command.closeAll()
                commands[id] = nil
                send(.exited(id: id, status: status))
            }
        }
    }
}

func monotonicMilliseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}
