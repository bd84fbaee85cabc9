@preconcurrency import Crypto
import NIOCore
import Testing
@testable import V2M

/// The job network's datagram format, replay window and acceptance rules, without sockets.
@Suite struct TunnelDatagramTests {
    static var key: SymmetricKey { TunnelDatagram.networkKey(secret: Array(0..<32), jobID: "job-1") }

    static func datagram(_ sequence: UInt64, sender: UInt32 = 2, receiver: UInt32 = 1, payload: [UInt8] = [1, 2, 3],
                         key: SymmetricKey = key) -> ByteBuffer {
        TunnelDatagram(kind: .frame, tag: 7, sender: sender, receiver: receiver, sequence: sequence, payload: ByteBuffer(bytes: payload))
            .encoded(key: key, allocator: ByteBufferAllocator())
    }

    @Test func aSealedDatagramOpensOnlyUnderItsKeyTagAndReceiver() {
        let sealed = Self.datagram(5)
        let opened = TunnelDatagram.decode(sealed, key: Self.key, tag: 7, receiver: 1)
        #expect(opened?.sequence == 5 && opened?.sender == 2 && opened.map { Array($0.payload.readableBytesView) } == [1, 2, 3])
        #expect(TunnelDatagram.decode(sealed, key: Self.key, tag: 8, receiver: 1) == nil)
        #expect(TunnelDatagram.decode(sealed, key: Self.key, tag: 7, receiver: 3) == nil, "meant for another node")
        let otherJob = TunnelDatagram.networkKey(secret: Array(0..<32), jobID: "job-2")
        #expect(TunnelDatagram.decode(sealed, key: otherJob, tag: 7, receiver: 1) == nil)
        let otherSecret = TunnelDatagram.networkKey(secret: Array(1..<33), jobID: "job-1")
        #expect(TunnelDatagram.decode(sealed, key: otherSecret, tag: 7, receiver: 1) == nil)
        // Any flipped bit, in the header, the frame or the MAC, is refused; so is any truncation.
        let bytes = Array(sealed.readableBytesView)
        for index in bytes.indices {
            var tampered = bytes
            tampered[index] ^= 0x01
            #expect(TunnelDatagram.decode(ByteBuffer(bytes: tampered), key: Self.key, tag: 7, receiver: 1) == nil, "byte \(index)")
        }
        for length in 0..<bytes.count {
            #expect(TunnelDatagram.decode(ByteBuffer(bytes: bytes.prefix(length)), key: Self.key, tag: 7, receiver: 1) == nil)
        }
    }

    @Test func theReplayWindowAcceptsEachSequenceOnceAndRefusesTheTooOld() {
        var window = ReplayWindow()
        let sequences: [UInt64] = [0, 1, 1, 10, 3, 3, 9, 200, 200 - 64, 200 - 63, 10, 1_000_000, 200]
        let expected = [false, true, false, true, true, false, true, true, false, true, false, true, false]
        let accepted = sequences.map { window.accept($0) }
        #expect(accepted == expected)
    }

    @Test func candidatePortsAreEightDistinctKeyDependentPortsInTheRange() {
        let ports = TunnelDatagram.candidatePorts(key: Self.key, agentRank: 1)
        #expect(ports.count == 8 && Set(ports).count == 8 && ports.allSatisfy { (20_000..<32_000).contains($0) })
        #expect(ports != TunnelDatagram.candidatePorts(key: Self.key, agentRank: 2))
        #expect(ports != TunnelDatagram.candidatePorts(key: TunnelDatagram.networkKey(secret: Array(1..<33), jobID: "job-1"), agentRank: 1))
    }

    /// The switch's acceptance rule: MAC, then source address and port, then the replay window.
    @Test func theSwitchCoreDropsReplaysAndWrongSources() throws {
        let configuration = JobSwitch.Configuration(jobID: "job-1", secret: Array(0..<32), agentRank: 1, tunnelHost: "127.0.0.1",
                                                    peers: [2: "127.0.0.1"], localRanks: [0], directory: "/nonexistent")
        let candidates = try TunnelDatagram.candidatePorts(key: Self.key, agentRank: 2).map { try SocketAddress(ipAddress: "127.0.0.1", port: $0) }
        let core = SwitchCore(configuration: configuration, key: Self.key, peers: [2: SwitchCore.Peer(candidates: candidates)], vms: [:])
        let frame = [UInt8](repeating: 0xFF, count: 12) + [0x08, 0x00] + [UInt8](repeating: 0, count: 46)
        func deliver(_ sequence: UInt64, from address: SocketAddress) {
            let sealed = TunnelDatagram(kind: .frame, tag: configuration.tag, sender: 2, receiver: 1, sequence: sequence,
                                        payload: ByteBuffer(bytes: frame)).encoded(key: Self.key, allocator: ByteBufferAllocator())
            core.received(datagram: sealed, from: address)
        }
        deliver(1, from: try SocketAddress(ipAddress: "127.0.0.1", port: 40_000))  // not one of its ports
        deliver(1, from: try SocketAddress(ipAddress: "127.0.0.2", port: candidates[1].port!))  // not its address
        #expect(core.fromNodes == 0 && core.dropped == 2)
        deliver(1, from: candidates[1])
        #expect(core.fromNodes == 1 && core.peers[2]?.learned == candidates[1])
        deliver(1, from: candidates[1])  // replayed
        deliver(2, from: candidates[0])  // learned: another candidate is not it any more
        #expect(core.fromNodes == 1 && core.dropped == 4)
        deliver(2, from: candidates[1])
        #expect(core.fromNodes == 2)
    }
}
