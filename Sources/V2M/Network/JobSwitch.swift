import Foundation
import NIOCore
import NIOPosix

/// One node's part of a job's VM network: a user-space Ethernet switch, in the process of the node's tool
/// agent, that joins the node's VMs to the switches of the job's other nodes.
///
/// - Each VM's NIC is a QEMU `dgram` netdev between two unix datagram sockets in ``Configuration/directory``:
///   the VM's (`r<rank>.vm`, bound by QEMU) and its switch port (`r<rank>.sw`, bound here).
/// - Switches talk over UDP, one socket per node on the node's own address (``Configuration/tunnelHost``),
///   each Ethernet frame in one datagram behind a 12-byte header (magic `VH`, version, job tag, sender).
///   Together they form one L2 segment across hosts with no bridge, tap, VXLAN device or privilege, and
///   nothing that outlives the process.
/// - Forwarding is ``SwitchTable``'s (MAC learning, flooding with split horizon). A VM is sent frames only
///   once it has sent one (its socket is bound then); Linux guests send on link-up.
public final class JobSwitch: Sendable {
    /// Where this switch runs and who its peers are.
    public struct Configuration: Sendable {
        /// Tags every tunnel datagram so that stray traffic of another job is dropped.
        public var jobTag: UInt32
        /// This node's agent rank.
        public var agentRank: Int
        /// This node's address, and the UDP port of its switch.
        public var tunnelHost: String
        public var tunnelPort: Int
        /// Every other node's switch: agent rank → (address, port).
        public var peers: [Int: TunnelEndpoint]
        /// Task ranks whose VMs run on this node.
        public var localRanks: [Int]
        /// A directory of this switch's own for the unix sockets (created; removed by ``stop()``).
        public var directory: String

        public init(jobTag: UInt32, agentRank: Int, tunnelHost: String, tunnelPort: Int, peers: [Int: TunnelEndpoint],
                    localRanks: [Int], directory: String) {
            self.jobTag = jobTag
            self.agentRank = agentRank
            self.tunnelHost = tunnelHost
            self.tunnelPort = tunnelPort
            self.peers = peers
            self.localRanks = localRanks
            self.directory = directory
        }
    }

    /// A node switch's UDP address.
    public struct TunnelEndpoint: Sendable, Hashable {
        public var host: String
        public var port: Int

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public let configuration: Configuration
    private let core: NIOLoopBound<SwitchCore>
    private let channels: [any Channel]

    private init(configuration: Configuration, core: NIOLoopBound<SwitchCore>, channels: [any Channel]) {
        self.configuration = configuration
        self.core = core
        self.channels = channels
    }

    /// The NIC network for the VM of task `rank`.
    public func network(for rank: Int) -> VMNIC.Network {
        .unixDatagram(vmPath: Self.vmPath(configuration.directory, rank), switchPath: Self.switchPath(configuration.directory, rank))
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

    /// Binds the tunnel socket and one switch port per local VM, all on one event loop of `group`.
    public static func start(_ configuration: Configuration, group: any EventLoopGroup) async throws -> JobSwitch {
        let loop = group.next()
        var peerAddresses: [Int: SocketAddress] = [:]
        for (rank, endpoint) in configuration.peers {
            peerAddresses[rank] = try SocketAddress.makeAddressResolvingHost(endpoint.host, port: endpoint.port)
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
        try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
        let core = try await loop.submit {
            NIOLoopBound(SwitchCore(configuration: configuration, peers: peerAddresses, vms: vmAddresses), eventLoop: loop)
        }.get()
        var channels: [any Channel] = []
        do {
            let tunnel = try await DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SwitchPortHandler(core: core, port: nil))
                    }
                }
                .bind(host: configuration.tunnelHost, port: configuration.tunnelPort).get()
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
                "job network: cannot open the switch of node \(configuration.agentRank) on \(configuration.tunnelHost):\(configuration.tunnelPort) (UDP) or its VM ports in \(configuration.directory): \(error)")
        }
        return JobSwitch(configuration: configuration, core: core, channels: channels)
    }

    /// Frames forwarded so far: (from VMs, from other nodes), for tests and logs.
    public func counters() async -> (fromVMs: Int, fromNodes: Int) {
        let core = self.core
        return (try? await core.eventLoop.submit { (core.value.fromVMs, core.value.fromNodes) }.get()) ?? (0, 0)
    }

    /// Closes every socket and removes the directory.
    public func stop() async {
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
    static let magic: UInt16 = 0x5648  // "VH"
    static let version: UInt8 = 1
    static let headerSize = 12

    let configuration: JobSwitch.Configuration
    var table: SwitchTable
    let peers: [Int: SocketAddress]
    let vms: [Int: SocketAddress]
    var tunnel: (any Channel)?
    var vmChannels: [Int: any Channel] = [:]
    /// VMs that have sent a frame, so their socket is bound and they can be sent to.
    var aliveVMs: Set<Int> = []
    var fromVMs = 0
    var fromNodes = 0

    init(configuration: JobSwitch.Configuration, peers: [Int: SocketAddress], vms: [Int: SocketAddress]) {
        self.configuration = configuration
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

    /// A tunnel datagram from another node's switch.
    func received(datagram: ByteBuffer) {
        var datagram = datagram
        guard let magic = datagram.readInteger(as: UInt16.self), magic == Self.magic,
              let version = datagram.readInteger(as: UInt8.self), version == Self.version,
              datagram.readInteger(as: UInt8.self) != nil,
              let tag = datagram.readInteger(as: UInt32.self), tag == configuration.jobTag,
              let sender = datagram.readInteger(as: UInt32.self), peers[Int(sender)] != nil else { return }
        fromNodes += 1
        emit(datagram, to: table.forward(datagram.readableBytesView, from: .node(agentRank: Int(sender))))
    }

    private func emit(_ frame: ByteBuffer, to ports: [SwitchTable.Port]) {
        var datagram: ByteBuffer?  // the tunnel form, made once however many nodes get it
        for port in ports {
            switch port {
            case .vm(let rank):
                guard aliveVMs.contains(rank), let channel = vmChannels[rank], let address = vms[rank] else { continue }
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: frame), promise: nil)
            case .node(let agentRank):
                guard let tunnel, let address = peers[agentRank] else { continue }
                if datagram == nil { datagram = tunnelDatagram(frame, allocator: tunnel.allocator) }
                tunnel.writeAndFlush(AddressedEnvelope(remoteAddress: address, data: datagram!), promise: nil)
            }
        }
    }

    /// `frame` behind the 12-byte switch header.
    private func tunnelDatagram(_ frame: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var datagram = allocator.buffer(capacity: Self.headerSize + frame.readableBytes)
        datagram.writeInteger(Self.magic)
        datagram.writeInteger(Self.version)
        datagram.writeInteger(UInt8(0))
        datagram.writeInteger(configuration.jobTag)
        datagram.writeInteger(UInt32(configuration.agentRank))
        datagram.writeImmutableBuffer(frame)
        return datagram
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
            core.value.received(datagram: envelope.data)
        }
    }

    /// A failed send to one VM or node (it went away) must not take the switch down.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}
