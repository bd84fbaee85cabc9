import Glibc

/// A command's way to the host's PMIx server (Open MPI's `MPI_Init` in a VM): the agent listens on the
/// guest's loopback (an ephemeral port), points the command's `PMIX_SERVER_URI*` variables there, and relays
/// every connection it accepts over the guest link as `pmix` messages; the host's tool agent carries them on
/// to the PMIx server in its own process. Nothing listens outside the guest.
struct PMIxRelay {
    let listenFD: Int32
    let port: UInt16
    private(set) var connections: [UInt32: Connection] = [:]
    private var nextConnection: UInt32 = 1

    /// One accepted connection and the host's bytes its socket has not taken yet.
    struct Connection {
        var fd: Int32
        var pending: [UInt8] = []
        /// The host closed it: close once `pending` is written.
        var closing = false
    }

    /// Whether a command's environment asks for PMIx (the host gave it a server URI).
    static func wanted(_ environment: [String]) -> Bool {
        environment.contains { $0.hasPrefix("PMIX_SERVER_URI") }
    }

    /// Listens on 127.0.0.1, port chosen by the kernel.
    static func listen() -> Result<PMIxRelay, RunningCommand.SpawnFailure> {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return .failure(.init(message: "PMIx relay: socket: \(String(cString: strerror(errno)))")) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && Glibc.listen(fd, 64) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            return .failure(.init(message: "PMIx relay: cannot listen on 127.0.0.1: \(reason)"))
        }
        return .success(PMIxRelay(listenFD: fd, port: UInt16(bigEndian: address.sin_port)))
    }

    /// `environment` with every `PMIX_SERVER_URI*` (`pmix-server.PID;tcp4://HOST:PORT`) pointing at this
    /// relay; the server's name part stays.
    func pointing(_ environment: [String]) -> [String] {
        environment.map { entry in
            guard entry.hasPrefix("PMIX_SERVER_URI"), let equals = entry.firstIndex(of: "=") else { return entry }
            let value = entry[entry.index(after: equals)...]
            let server = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            return String(entry[...equals]) + server + ";tcp4://127.0.0.1:\(port)"
        }
    }

    /// Accepts every connection waiting; returns how many.
    @discardableResult
    mutating func acceptAll() -> Int {
        var accepted = 0
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 { break }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            connections[nextConnection] = Connection(fd: fd)
            nextConnection &+= 1
            accepted += 1
        }
        return accepted
    }

    /// Reads what connection `number` has: bytes, or nil when it ended (closed here; the host must be told).
    mutating func read(_ number: UInt32) -> [UInt8]? {
        guard let connection = connections[number] else { return [] }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = Glibc.read(connection.fd, &chunk, chunk.count)
        if n > 0 { return Array(chunk[0..<n]) }
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return [] }
        close(number)
        return nil
    }

    /// Bytes from the host for connection `number` (empty: the host closed it). Returns false when the
    /// connection failed (closed here; the host must be told).
    mutating func write(_ number: UInt32, _ bytes: [UInt8]) -> Bool {
        guard connections[number] != nil else { return true }
        if bytes.isEmpty { connections[number]?.closing = true } else { connections[number]?.pending += bytes }
        return flush(number)
    }

    /// Writes what the socket takes now; false when it failed (closed here).
    mutating func flush(_ number: UInt32) -> Bool {
        guard var connection = connections[number] else { return true }
        while !connection.pending.isEmpty {
            let n = connection.pending.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { break }
            if n <= 0 {
                close(number)
                return false
            }
            connection.pending.removeFirst(n)
        }
        connections[number] = connection
        if connection.pending.isEmpty && connection.closing { close(number) }
        return true
    }

    mutating func close(_ number: UInt32) {
        guard let connection = connections.removeValue(forKey: number) else { return }
        Glibc.close(connection.fd)
    }

    /// Closes the listener and every connection (the command ended).
    mutating func closeAll() {
        for number in Array(connections.keys) { close(number) }
        Glibc.close(listenFD)
    }
}
