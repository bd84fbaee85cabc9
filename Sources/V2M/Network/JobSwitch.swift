@preconcurrency import Crypto
import Foundation
import NIOCore
import NIOPosix

/// One node's part of a job's VM network: a user-space Ethernet switch, in the process of the node's tool
/// agent, that joins the node's VMs to the switches of the job's other nodes.
///
/// - Each VM's NIC is a QEMU `dgram` netdev between two unix datagram sockets in ``Configuration/directory``
///   (created 0700): the VM's (`r<rank>.vm`, bound by QEMU) and its switch port (`r<rank>.sw`, bound here).
/// - Switches talk over UDP, one socket per node on the node's own address (``Configuration/tunnelHost``),
///   each Ethernet frame in one ``TunnelDatagram``: authenticated by an HMAC under a key derived from the job
///   secret, bound to its sender and receiver, with a replay window per sender, and accepted only from the
///   sending node's address and port. The port is the first free one of 8 derived from the key (a port
///   another user holds costs nothing); peers find it by authenticated hellos.
///   Together they form one L2 segment across hosts with no bridge, tap, VXLAN device or privilege, and
///   nothing that outlives the process.
/// - Forwarding is ``SwitchTable``'s (MAC learning, flooding with split horizon). A VM is sent frames only
///   once it has sent one (its socket is bound then); Linux guests send on link-up.
public final class JobSwitch: Sendable {
    /// Where this switch runs and who its peers are.
    public struct Configuration: Sendable {
        /// The job: its id tags every datagram, its secret keys their MACs (with the id as salt).
        public var jobID: String
        public var secret: [UInt8]
        /// This node's agent rank.
        public var agentRank: Int
        /// This node's address (the switch's UDP socket binds there).
        public var tunnelHost: String
        /// Every other node's address: agent rank → host.
        public var peers: [Int: String]
        /// Task ranks whose VMs run on this node.
        public var localRanks: [Int]
        /// A directory of this switch's own for the unix sockets (created; removed by ``stop()``).
        public var directory: String

        public init(jobID: String, secret: [UInt8], agentRank: Int, tunnelHost: String, peers: [Int: String],
                    localRanks: [Int], directory: String) {
            self.jobID = jobID
            self.secret = secret
            self.agentRank = agentRank
            self.tunnelHost = tunnelHost
            self.peers = peers
            self.localRanks = localRanks
            self.directory = directory
        }

        /// Tags every tunnel datagram, so stray traffic of another job is dropped before its MAC is computed.
        var tag: UInt32 { StableHash.fnv1a(jobID) }
    }

    public let configuration: Configuration
    /// The UDP port this switch bound.
    public let tunnelPort: Int
    private let core: NIOLoopBound<SwitchCore>
    private let channels: [any Channel]
    private let hellos: NIOLoopBound<RepeatedTask?>

    private init(configuration: Configuration, tunnelPort: Int, core: NIOLoopBound<SwitchCore>, channels: [any Channel],
                 hellos: NIOLoopBound<RepeatedTask?>) {
        self.configuration = configuration
        self.tunnelPort = tunnelPort
        self.core = core
        self.channels = channels
        self.hellos = hellos
    }

    /// The NIC network for the VM of task `rank`.
    public func network(for rank: Int) -> VMNIC.Network {
        .unixDatagram(vmPath: Self.vmPath(configuration.directory, rank), switchPath: Self.switchPath(configuration.directory, rank))
    }

    /// The UDP ports node `agentRank`'s switch tries, in order (see ``TunnelDatagram/candidatePorts(key:agentRank:count:)``).
    public static func candidatePorts(jobID: String, secret: [UInt8], agentRank: Int) -> [Int] {
        TunnelDatagram.candidatePorts(key: TunnelDatagram.networkKey(secret: secret, jobID: jobID), agentRank: agentRank)
    }

    static func vmPath(_ directory: String, _ rank: Int) -> String { directory + "/r\(rank).vm" }
    static func switchPath(_ directory: String, _ rank: Int) -> String { directory + "/r\(rank).sw" }

    /// `<parent>/<name>` when every socket path for ranks up to `largestRank` fits (103 bytes, SwiftNIO's
    /// limit; see `RuntimeDirectory`); otherwise
    /// `/tmp/vhpc-<uid>/<name>`, where VM runtime directories go too (as Open MPI falls back to /tmp for a
    /// too-long `TMPDIR`).
    public static func socketDirectory(parent: String, name: String, largestRank: Int) throws -> String {
        try RuntimeDirectory.path(name: name, preferredParent: parent) { vmPath($0, largestRank).utf8.count <= RuntimeDirectory.longestSocketPath }
    }

    /// Binds the tunnel socket (the first free candidate port) and one switch port per local VM, all on one
    /// event loop of `group`, and starts looking for the peers' ports.
    public static func start(_ configuration: Configuration, group: any EventLoopGroup) async throws -> JobSwitch {
        let loop = group.next()
        let key = TunnelDatagram.networkKey(secret: configuration.secret, jobID: configuration.jobID)
        var peers: [Int: SwitchCore.Peer] = [:]
        for (rank, host) in configuration.peers {
            let ports = TunnelDatagram.candidatePorts(key: key, agentRank: rank)
            let addresses = try ports.map { try SocketAddress.makeAddressResolvingHost(host, port: $0) }
            peers[rank] = SwitchCore.Peer(candidates: addresses)
        }
        var vmAddresses: [Int: SocketAddress] = [:]
        for rank in configuration.localRanks {
            let path = vmPath(configuration.directory, rank)
            guard path.utf8.count <= RuntimeDirectory.longestSocketPath else {
                throw JobSwitchError.bindFailed(
                    "job network: the VM socket path \(path) is \(path.utf8.count) bytes, longer than a unix socket allows (\(RuntimeDirectory.longestSocketPath))")
            }
            vmAddresses[rank] = try SocketAddress(unixDomainSocketPath: path)
        }
        try? FileManager.default.removeItem(atPath: configuration.directory)
        try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let (peerTable, vmTable) = (peers, vmAddresses)
        let core = try await loop.submit {
            NIOLoopBound(SwitchCore(configuration: configuration, key: key, peers: peerTable, vms: vmTable), eventLoop: loop)
        }.get()
        var channels: [any Channel] = []
        let ports = TunnelDatagram.candidatePorts(key: key, agentRank: configuration.agentRank)
        var boundPort = 0
        do {
            var tunnel: (any Channel)?
            var lastError: (any Error)?
            for port in ports where tunnel == nil {
                do {
                    tunnel = try await DatagramBootstrap(group: loop)
                        .channelInitializer { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try channel.pipeline.syncOperations.addHandler(SwitchPortHandler(core: core, port: nil))
                            }
                        }
                        .bind(host: configuration.tunnelHost, port: port).get()
                    boundPort = port
                } catch {
                    lastError = error  // taken (by another job or another user): try the next candidate
                }
            }
            guard let tunnel else {
                throw lastError ?? JobSwitchError.bindFailed("no candidate port")
            }
            channels.append(tunnel)
            try await loop.submit { core.value.tunnel = tunnel }.get()
            for rank in configuration.localRanks {
                let channel = try await DatagramBootstrap(group: loop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(SwitchPortHandler(core: core, port: rank))
                        }
                    }
                    .bind(unixDomainSocketPath: switchPath(configuration.directory, rank), cleanupExistingSocketFile: true).get()
                channels.append(channel)
                try await loop.submit { core.value.vmChannels[rank] = channel }.get()
            }
        } catch {
            for channel in channels { try? await channel.close() }
            try? FileManager.default.removeItem(atPath: configuration.directory)
            throw JobSwitchError.bindFailed(
                "job network: cannot open the switch of node \(configuration.agentRank) on \(configuration.tunnelHost), UDP ports \(ports.map(String.init).joined(separator: ",")) (all taken?) or its VM ports in \(configuration.directory): \(error)")
        }
        let hellos = try await loop.submit {
            core.value.sendHellos()
            return NIOLoopBound<RepeatedTask?>(loop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
                core.value.sendHellos()
            }, eventLoop: loop)
        }.get()
        return JobSwitch(configuration: configuration, tunnelPort: boundPort, core: core, channels: channels, hellos: hellos)
    }

    /// Frames forwarded so far: (from VMs, from other nodes), for tests and logs.
    public func counters() async -> (fromVMs: Int, fromNodes: Int) {
        let core = self.core
        return (try? await core.eventLoop.submit { (core.value.fromVMs, core.value.fromNodes) }.get()) ?? (0, 0)
    }

    /// Tunnel datagrams dropped so far (bad MAC, tag or receiver, replayed, from the wrong address).
    public func droppedDatagrams() async -> Int {
        let core = self.core
        return (try? await core.eventLoop.submit { core.value.dropped }.get()) ?? 0
    }

    /// Whether the switch has found every peer's port (it has heard from each).
    public func knowsAllPeers() async -> Bool {
        let core = self.core
        return (try? await core.eventLoop.submit { core.value.peers.values.allSatisfy { $0.learned != nil } }.get()) ?? false
    }

    /// Closes every socket and removes the directory.
    public func stop() async {
        let hellos = self.hellos
        try? await hellos.eventLoop.submit { hellos.value?.cancel() }.get()
        for channel in channels { try? await channel.close() }
        try? FileManager.default.removeItem(atPath: configuration.directory)
    }
}

/// Why a job switch could not start.
public enum JobSwitchError: Error, CustomStringConvertible {
    case bindFailed(String)

    public var description: String {
        switch self {
        case .bindFailed(let message): return message
        }
    }
}

/// The switch's state, confined to its event loop.
final class SwitchCore {
    /// Another node's switch: where it may listen, where it does (once heard from), what it has sent.
    struct Peer {
        var candidates: [SocketAddress]
        var learned: SocketAddress?
        var window = ReplayWindow()

        init(candidates: [SocketAddress]) {
            self.candidates = candidates
        }

        /// Whether a datagram from `source` can be this peer's: its address and (one of) its port(s).
        func accepts(_ source: SocketAddress) -> Bool {
            if let learned { return Self.same(learned, source) }
            return candidates.contains { Self.same($0, source) }
        }

        static func same(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
            a.port == b.port && a.ipAddress != nil && a.ipAddress == b.ipAddress
        }
    }

    let configuration: JobSwitch.Configuration
    let key: SymmetricKey
    let tag: UInt32
    var table: SwitchTable
    var peers: [Int: Peer]
    let vms: [Int: SocketAddress]
    var tunnel: (any Channel)?
    var vmChannels: [Int: any Channel] = [:]
    /// VMs that have sent a frame, so their socket is bound and they can be sent to.
    var aliveVMs: Set<Int> = []
    /// VMs with a frame still queued for their socket (their QEMU is not reading: restoring, paused, or the
    /// guest's receive ring is full): further frames for them are dropped, as a full NIC drops them. So at
    /// most one datagram per port is ever pending; SwiftNIO traps on several queued unix-socket datagrams.
    var busyVMs: Set<Int> = []
    var sequence: UInt64 = 0
    var fromVMs = 0
    var fromNodes = 0
    var dropped = 0

    init(configuration: JobSwitch.Configuration, key: SymmetricKey, peers: [Int: Peer], vms: [Int: SocketAddress]) {
        self.configuration = configuration
        self.key = key
        self.tag = configuration.tag
        self.peers = peers
        self.vms = vms
        table = SwitchTable(localVMs: configuration.localRanks.sorted(), peerNodes: peers.keys.sorted())
    }

    /// A frame from the VM of `rank`.
    func received(frame: ByteBuffer, fromVM rank: Int) {
        fromVMs += 1
        aliveVMs.insert(rank)
        emit(frame, to: table.forward(frame.readableBytesView, from: .vm(rank: rank)))
    }

    /// A tunnel datagram from `source`: accepted only with a valid MAC, for this node, from the sender's
    /// address and port, and not seen before.
    func received(datagram: ByteBuffer, from source: SocketAddress) {
        guard let decoded = TunnelDatagram.decode(datagram, key: key, tag: tag, receiver: UInt32(configuration.agentRank)),
              let sender = Int(exactly: decoded.sender), var peer = peers[sender], peer.accepts(source),
              peer.window.accept(decoded.sequence) else {
            dropped += 1
            return
        }
        peer.learned = source
        peers[sender] = peer
        switch decoded.kind {
        case .hello:
            send(.helloReply, ByteBuffer(), to: sender)
        case .helloReply:
            break
        case .frame:
            fromNodes += 1
            emit(decoded.payload, to: table.forward(decoded.payload.readableBytesView, from: .node(agentRank: sender)))
        }
    }

    /// A hello to every candidate port of each peer not yet heard from.
    func sendHellos() {
        for (rank, peer) in peers where peer.learned == nil {
            send(.hello, ByteBuffer(), to: rank)
        }
    }

    private func emit(_ frame: ByteBuffer, to ports: [SwitchTable.Port]) {
        for port in ports {
            switch port {
            case .vm(let rank):
                guard aliveVMs.contains(rank), let channel = vmChannels[rank], let address = vms[rank],
                      busyVMs.insert(rank).inserted else { continue }
                let written = channel.eventLoop.makePromise(of: Void.self)
                let core = NIOLoopBound(self, eventLoop: channel.eventLoop)
                written.futureResult.whenComplete { _ in core.value.busyVMs.remove(rank) }
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: frame), promise: written)
            case .node(let agentRank):
                send(.frame, frame, to: agentRank)
            }
        }
    }

    /// `payload` sealed for node `agentRank`: to its port once known, to each of its candidates until then.
    private func send(_ kind: TunnelDatagram.Kind, _ payload: ByteBuffer, to agentRank: Int) {
        guard let tunnel, let peer = peers[agentRank] else { return }
        sequence += 1
        let datagram = TunnelDatagram(kind: kind, tag: tag, sender: UInt32(configuration.agentRank), receiver: UInt32(agentRank),
                                      sequence: sequence, payload: payload).encoded(key: key, allocator: tunnel.allocator)
        for address in peer.learned.map({ [$0] }) ?? peer.candidates {
            tunnel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: datagram), promise: nil)
        }
    }
}

/// Feeds one socket's datagrams into the switch: a VM's port (`port` = its rank) or the tunnel (nil).
final class SwitchPortHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let core: NIOLoopBound<SwitchCore>
    private let port: Int?

    init(core: NIOLoopBound<SwitchCore>, port: Int?) {
        self.core = core
        self.port = port
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        if let port {
            core.value.received(frame: envelope.data, fromVM: port)
        } else {
            core.value.received(datagram: envelope.data, from: envelope.remoteAddress)
        }
    }

    /// A failed send to one VM or node (it went away) must not take the switch down.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}
