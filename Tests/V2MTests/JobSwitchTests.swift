import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
@testable import V2M

/// Two real job switches on loopback (UDP between them, unix datagram ports) with stand-in VMs: datagram
/// sockets bound where QEMU's would be.
@Suite struct JobSwitchTests {
    /// A stand-in for a VM's `dgram` netdev: bound at the VM's path, sends to its switch port, keeps what arrives.
    final class FakeVM: ChannelInboundHandler, Sendable {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let received = NIOLockedValueBox<[[UInt8]]>([])

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = Array(unwrapInboundIn(data).data.readableBytesView)
            received.withLockedValue { $0.append(bytes) }
        }

        static func bind(at path: String, group: any EventLoopGroup) async throws -> (FakeVM, any Channel) {
            let vm = FakeVM()
            let channel = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(vm) } }
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            return (vm, channel)
        }

        /// What arrived once `count` frames did, or after 15 s (parallel tests can starve a 2-core machine
        /// for seconds; waiting longer does not weaken what is compared).
        func waitForFrames(_ count: Int) async -> [[UInt8]] {
            let deadline = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < deadline {
                let frames = received.withLockedValue { $0 }
                if frames.count >= count { return frames }
                try? await Task.sleep(for: .milliseconds(10))
            }
            return received.withLockedValue { $0 }
        }
    }

    static func frame(to destination: [UInt8], from source: [UInt8], payload: UInt8) -> [UInt8] {
        destination + source + [0x08, 0x00] + [UInt8](repeating: payload, count: 46)
    }

    func send(_ frame: [UInt8], on channel: any Channel, to path: String) async throws {
        let buffer = channel.allocator.buffer(bytes: frame)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: try SocketAddress(unixDomainSocketPath: path), data: buffer))
    }

    @Test func framesCrossBetweenTwoNodesSwitchesAndStrayDatagramsAreDropped() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let base = NSTemporaryDirectory() + "vhpc-switch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let portA = Int.random(in: 20_000..<30_000), portB = portA + 1
        let tag: UInt32 = 0xC0FFEE
        let a = try await JobSwitch.start(JobSwitch.Configuration(
            jobTag: tag, agentRank: 1, tunnelHost: "127.0.0.1", tunnelPort: portA,
            peers: [2: .init(host: "127.0.0.1", port: portB)], localRanks: [0], directory: base + "/a"), group: group)
        let b = try await JobSwitch.start(JobSwitch.Configuration(
            jobTag: tag, agentRank: 2, tunnelHost: "127.0.0.1", tunnelPort: portB,
            peers: [1: .init(host: "127.0.0.1", port: portA)], localRanks: [1], directory: base + "/b"), group: group)
        guard case .unixDatagram(let vm0Path, let port0) = a.network(for: 0),
              case .unixDatagram(let vm1Path, let port1) = b.network(for: 1) else {
            Issue.record("switch NICs must be unix datagram pairs")
            return
        }
        let (vm0, channel0) = try await FakeVM.bind(at: vm0Path, group: group)
        let (vm1, channel1) = try await FakeVM.bind(at: vm1Path, group: group)
        let mac0: [UInt8] = [0x52, 0x56, 0, 0, 0, 0], mac1: [UInt8] = [0x52, 0x56, 0, 0, 0, 1]

        // VM 1 announces itself (broadcast); VM 0 has sent nothing yet, so it is not sent to.
        try await send(Self.frame(to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], from: mac1, payload: 1), on: channel1, to: port1)
        // Let node A take the broadcast in before VM 0 speaks (else it would rightly reach VM 0 too).
        let deadline = ContinuousClock.now + .seconds(15)
        while await a.counters().fromNodes < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await a.counters().fromNodes == 1)
        // VM 0 answers by unicast: node A learned mac1 behind node B, which delivers to VM 1 alone.
        let unicast = Self.frame(to: mac1, from: mac0, payload: 2)
        try await send(unicast, on: channel0, to: port0)
        #expect(await vm1.waitForFrames(1) == [unicast])
        // And back: VM 0 is alive now.
        let reply = Self.frame(to: mac0, from: mac1, payload: 3)
        try await send(reply, on: channel1, to: port1)
        #expect(await vm0.waitForFrames(1) == [reply])

        // A datagram with another job's tag reaches node B's tunnel port and is dropped.
        let stray = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        var datagram = stray.allocator.buffer(capacity: 80)
        datagram.writeInteger(UInt16(0x5648)); datagram.writeInteger(UInt8(1)); datagram.writeInteger(UInt8(0))
        datagram.writeInteger(tag ^ 1); datagram.writeInteger(UInt32(1))
        datagram.writeBytes(Self.frame(to: mac1, from: mac0, payload: 4))
        try await stray.writeAndFlush(AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: portB), data: datagram))
        try await Task.sleep(for: .milliseconds(200))
        #expect(vm1.received.withLockedValue { $0.count } == 1)
        #expect(await b.counters().fromNodes == 1, "only node A's unicast came over the tunnel")

        for channel in [channel0, channel1, stray] { try? await channel.close() }
        await a.stop()
        await b.stop()
        #expect(!FileManager.default.fileExists(atPath: base + "/a") && !FileManager.default.fileExists(atPath: base + "/b"))
    }

    @Test func aTakenPortIsAClearError() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let holder = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        let port = holder.localAddress?.port ?? 0
        let directory = NSTemporaryDirectory() + "vhpc-switch-taken-\(getpid())"
        await #expect {
            _ = try await JobSwitch.start(JobSwitch.Configuration(
                jobTag: 1, agentRank: 3, tunnelHost: "127.0.0.1", tunnelPort: port, peers: [:], localRanks: [0],
                directory: directory), group: group)
        } throws: { error in
            "\(error)".contains("node 3 on 127.0.0.1:\(port)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory), "a failed start leaves no directory")
        try? await holder.close()
    }

    @Test func aSocketPathTooLongIsAClearErrorAndLeavesNothing() async throws {
        let directory = NSTemporaryDirectory() + "vhpc-switch-long-\(getpid())/" + String(repeating: "d", count: 100)
        await #expect {
            _ = try await JobSwitch.start(JobSwitch.Configuration(
                jobTag: 1, agentRank: 0, tunnelHost: "127.0.0.1", tunnelPort: 0, peers: [:], localRanks: [0],
                directory: directory), group: MultiThreadedEventLoopGroup.singleton)
        } throws: { error in
            "\(error)".contains("longer than a unix socket allows (103)") && "\(error)".contains(directory + "/r0.vm")
        }
        #expect(!FileManager.default.fileExists(atPath: directory), "a failed start leaves no directory")
    }

    @Test func theSocketDirectoryFallsBackToTmpOnlyWhenTheStatePathIsTooLong() throws {
        let short = try JobSwitch.socketDirectory(parent: "/var/lib/vhpc/tmp", name: "net-job-1-n0", largestRank: 3)
        #expect(short == "/var/lib/vhpc/tmp/net-job-1-n0")
        let deep = "/" + String(repeating: "p", count: 90)
        let fallback = try JobSwitch.socketDirectory(parent: deep, name: "net-job-1-n0", largestRank: 3)
        #expect(fallback == "/tmp/vhpc-\(getuid())/net-job-1-n0")
        // Exactly at the limit still fits: "<parent>/net-job-1-n0/r3.vm" is 103 bytes.
        let edge = "/" + String(repeating: "e", count: 103 - 1 - "/net-job-1-n0/r3.vm".utf8.count)
        #expect(try JobSwitch.socketDirectory(parent: edge, name: "net-job-1-n0", largestRank: 3) == edge + "/net-job-1-n0")
        #expect(try JobSwitch.socketDirectory(parent: edge + "x", name: "net-job-1-n0", largestRank: 3) == "/tmp/vhpc-\(getuid())/net-job-1-n0")
    }

    /// The directory `socketDirectory` picks at the very edge of the limit really binds: the limit is the one
    /// the socket library enforces, not only the kernel's.
    @Test func aSwitchAtTheEdgeOfTheLimitBinds() async throws {
        let base = NSTemporaryDirectory() + "vhpc-switch-edge-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let name = "net-job-1-n0"
        let parent = base + "/" + String(repeating: "e", count: 103 - base.utf8.count - 1 - "/\(name)/r3.vm".utf8.count)
        let directory = try JobSwitch.socketDirectory(parent: parent, name: name, largestRank: 3)
        #expect(directory == parent + "/" + name)
        #expect((directory + "/r3.sw").utf8.count == 103)
        let running = try await JobSwitch.start(JobSwitch.Configuration(
            jobTag: 1, agentRank: 0, tunnelHost: "127.0.0.1", tunnelPort: 0, peers: [:], localRanks: [2, 3],
            directory: directory), group: MultiThreadedEventLoopGroup.singleton)
        #expect(FileManager.default.fileExists(atPath: directory + "/r3.sw"))
        await running.stop()
    }
}
