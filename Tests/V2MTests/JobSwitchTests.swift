import Foundation
import HostProcess
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

    static let secret: [UInt8] = Array(0..<32)

    static func configuration(_ jobID: String, rank: Int, peers: [Int: String], localRanks: [Int], directory: String) -> JobSwitch.Configuration {
        JobSwitch.Configuration(jobID: jobID, secret: secret, agentRank: rank, tunnelHost: "127.0.0.1", peers: peers,
                                localRanks: localRanks, directory: directory)
    }

    static func bothKnow(_ a: JobSwitch, _ b: JobSwitch) async -> Bool {
        let first = await a.knowsAllPeers()
        let second = await b.knowsAllPeers()
        return first && second
    }

    /// Until `condition` holds or 15 s pass.
    static func wait(_ condition: () async -> Bool) async {
        let deadline = ContinuousClock.now + .seconds(15)
        while await !condition(), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func framesCrossBetweenTwoNodesSwitchesAndStrayDatagramsAreDropped() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let base = NSTemporaryDirectory() + "vhpc-switch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let jobID = "job-\(UInt32.random(in: 0...UInt32.max))"
        let a = try await JobSwitch.start(Self.configuration(jobID, rank: 1, peers: [2: "127.0.0.1"], localRanks: [0], directory: base + "/a"), group: group)
        let b = try await JobSwitch.start(Self.configuration(jobID, rank: 2, peers: [1: "127.0.0.1"], localRanks: [1], directory: base + "/b"), group: group)
        let mode = (try FileManager.default.attributesOfItem(atPath: base + "/a")[.posixPermissions] as? Int) ?? -1
        #expect(mode == 0o700, "the socket directory is the job user's alone")
        guard case .unixDatagram(let vm0Path, let port0) = a.network(for: 0),
              case .unixDatagram(let vm1Path, let port1) = b.network(for: 1) else {
            Issue.record("switch NICs must be unix datagram pairs")
            return
        }
        let (vm0, channel0) = try await FakeVM.bind(at: vm0Path, group: group)
        let (vm1, channel1) = try await FakeVM.bind(at: vm1Path, group: group)
        let mac0: [UInt8] = [0x52, 0x56, 0, 0, 0, 0], mac1: [UInt8] = [0x52, 0x56, 0, 0, 0, 1]
        await Self.wait { await Self.bothKnow(a, b) }
        #expect(await Self.bothKnow(a, b), "the switches found each other's ports by hellos")

        // VM 1 announces itself (broadcast); VM 0 has sent nothing yet, so it is not sent to.
        try await send(Self.frame(to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], from: mac1, payload: 1), on: channel1, to: port1)
        // Let node A take the broadcast in before VM 0 speaks (else it would rightly reach VM 0 too).
        await Self.wait { await a.counters().fromNodes >= 1 }
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
        datagram.writeInteger(UInt16(0x5648)); datagram.writeInteger(UInt8(2)); datagram.writeInteger(UInt8(0))
        datagram.writeInteger(UInt32(1)); datagram.writeInteger(UInt32(1)); datagram.writeInteger(UInt32(2)); datagram.writeInteger(UInt64(1))
        datagram.writeBytes(Self.frame(to: mac1, from: mac0, payload: 4))
        datagram.writeBytes([UInt8](repeating: 0, count: 16))
        try await stray.writeAndFlush(AddressedEnvelope(remoteAddress: try SocketAddress(ipAddress: "127.0.0.1", port: b.tunnelPort), data: datagram))
        await Self.wait { await b.droppedDatagrams() >= 1 }
        #expect(vm1.received.withLockedValue { $0.count } == 1)
        #expect(await b.counters().fromNodes == 1, "only node A's unicast came over the tunnel")

        for channel in [channel0, channel1, stray] { try? await channel.close() }
        await a.stop()
        await b.stop()
        #expect(!FileManager.default.fileExists(atPath: base + "/a") && !FileManager.default.fileExists(atPath: base + "/b"))
    }

    /// The attack of issue 20: an unprivileged local user (`nobody`) sends datagrams to a switch's tunnel
    /// port — in the old format (job tag from `ps`, a known sender rank, an ARP-poisoning frame), and in the
    /// new one with a forged MAC. Nothing reaches the VM; a frame from the real peer still does.
    @Test(.timeLimit(.minutes(1))) func rogueDatagramsFromAnotherLocalUserHaveNoEffect() async throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else { return }
        let group = MultiThreadedEventLoopGroup.singleton
        let base = NSTemporaryDirectory() + "vhpc-switch-rogue-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let jobID = "job-rogue-\(UInt32.random(in: 0...UInt32.max))"
        let a = try await JobSwitch.start(Self.configuration(jobID, rank: 1, peers: [2: "127.0.0.1"], localRanks: [0], directory: base + "/a"), group: group)
        let b = try await JobSwitch.start(Self.configuration(jobID, rank: 2, peers: [1: "127.0.0.1"], localRanks: [1], directory: base + "/b"), group: group)
        guard case .unixDatagram(let vm0Path, let port0) = a.network(for: 0),
              case .unixDatagram(let vm1Path, let port1) = b.network(for: 1) else { return }
        let (vm0, channel0) = try await FakeVM.bind(at: vm0Path, group: group)
        let (vm1, channel1) = try await FakeVM.bind(at: vm1Path, group: group)
        await Self.wait { await Self.bothKnow(a, b) }
        // VM 1 speaks once so node B delivers to it.
        try await send(Self.frame(to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], from: [0x52, 0x56, 0, 0, 0, 1], payload: 1), on: channel1, to: port1)
        _ = await vm0.waitForFrames(0)

        var tag: UInt32 = 2_166_136_261
        for byte in jobID.utf8 { tag = (tag ^ UInt32(byte)) &* 16_777_619 }
        // A gratuitous ARP claiming 10.77.0.1 for the attacker's MAC, broadcast.
        let arp: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0xBA, 0xD0, 0, 0, 1, 0x08, 0x06,
                            0, 1, 8, 0, 6, 4, 0, 2, 0x02, 0xBA, 0xD0, 0, 0, 1, 10, 77, 0, 1,
                            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 10, 77, 0, 1] + [UInt8](repeating: 0, count: 18)
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        let oldFormat: [UInt8] = [0x56, 0x48, 1, 0] + be32(tag) + be32(1) + arp
        let forged: [UInt8] = [0x56, 0x48, 2, 0] + be32(tag) + be32(1) + be32(2) + [0, 0, 0, 0, 0, 0, 0, 9] + arp + [UInt8](repeating: 0xAB, count: 16)
        let before = vm1.received.withLockedValue { $0.count }
        for datagram in [oldFormat, forged] {
            let escaped = datagram.map { "\\x" + String($0, radix: 16) }.joined()
            // The bound port is no secret (`ss -uan` shows it to every user).
            for port in [b.tunnelPort] {
                let rogue = try HostCommand("/usr/sbin/runuser", ["-u", "nobody", "--", "/bin/bash", "-c", "printf '\(escaped)' > /dev/udp/127.0.0.1/\(port)"])
                    .runAllowingFailure()
                #expect(rogue.status == 0, "the rogue user could send: \(rogue.stderrText)")
            }
        }
        await Self.wait { await b.droppedDatagrams() >= 2 }
        #expect(await b.droppedDatagrams() >= 2, "the rogue datagrams reached the switch and were dropped")
        #expect(vm1.received.withLockedValue { $0.count } == before, "nothing of the rogue's reached the VM")
        #expect(await b.counters().fromNodes == 0)
        // The legitimate path still works: VM 0's frame reaches VM 1.
        let legit = Self.frame(to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], from: [0x52, 0x56, 0, 0, 0, 0], payload: 7)
        try await send(legit, on: channel0, to: port0)
        #expect(await vm1.waitForFrames(before + 1).last == legit)
        for channel in [channel0, channel1] { try? await channel.close() }
        await a.stop()
        await b.stop()
    }

    /// Another user holding a switch's first port (or several) does not stop the job: the switch takes the
    /// next candidate and its peer finds it.
    @Test(.timeLimit(.minutes(1))) func aTakenPortIsSkippedAndThePeerFindsTheNextOne() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let base = NSTemporaryDirectory() + "vhpc-switch-taken-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let jobID = "job-taken-\(UInt32.random(in: 0...UInt32.max))"
        let candidates = JobSwitch.candidatePorts(jobID: jobID, secret: Self.secret, agentRank: 2)
        var holders: [any Channel] = []
        for port in candidates.prefix(3) {
            if let holder = try? await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).get() { holders.append(holder) }
        }
        let a = try await JobSwitch.start(Self.configuration(jobID, rank: 1, peers: [2: "127.0.0.1"], localRanks: [0], directory: base + "/a"), group: group)
        let b = try await JobSwitch.start(Self.configuration(jobID, rank: 2, peers: [1: "127.0.0.1"], localRanks: [1], directory: base + "/b"), group: group)
        #expect(!candidates.prefix(3).contains(b.tunnelPort) && candidates.contains(b.tunnelPort))
        await Self.wait { await Self.bothKnow(a, b) }
        #expect(await Self.bothKnow(a, b))
        guard case .unixDatagram(let vm0Path, let port0) = a.network(for: 0),
              case .unixDatagram(let vm1Path, _) = b.network(for: 1) else { return }
        let (_, channel0) = try await FakeVM.bind(at: vm0Path, group: group)
        let (vm1, channel1) = try await FakeVM.bind(at: vm1Path, group: group)
        let frame = Self.frame(to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], from: [0x52, 0x56, 0, 0, 0, 0], payload: 5)
        // VM 1 must have spoken to be sent to; simulate its link-up with a frame first.
        try await send(Self.frame(to: [0x52, 0x56, 0, 0, 0, 9], from: [0x52, 0x56, 0, 0, 0, 1], payload: 0), on: channel1, to: JobSwitch.switchPath(base + "/b", 1))
        await Self.wait { await b.counters().fromVMs >= 1 }
        try await send(frame, on: channel0, to: port0)
        #expect(await vm1.waitForFrames(1).contains(frame))
        for channel in [channel0, channel1] + holders { try? await channel.close() }
        await a.stop()
        await b.stop()
    }

    @Test func everyCandidatePortTakenIsAClearError() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let jobID = "job-full-\(UInt32.random(in: 0...UInt32.max))"
        var holders: [any Channel] = []
        for port in JobSwitch.candidatePorts(jobID: jobID, secret: Self.secret, agentRank: 3) {
            if let holder = try? await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: port).get() { holders.append(holder) }
        }
        let directory = NSTemporaryDirectory() + "vhpc-switch-full-\(getpid())"
        await #expect {
            _ = try await JobSwitch.start(Self.configuration(jobID, rank: 3, peers: [:], localRanks: [0], directory: directory), group: group)
        } throws: { error in
            "\(error)".contains("switch of node 3 on 127.0.0.1, UDP ports")
        }
        #expect(!FileManager.default.fileExists(atPath: directory), "a failed start leaves no directory")
        for holder in holders { try? await holder.close() }
    }

    @Test func aSocketPathTooLongIsAClearErrorAndLeavesNothing() async throws {
        let directory = NSTemporaryDirectory() + "vhpc-switch-long-\(getpid())/" + String(repeating: "d", count: 100)
        await #expect {
            _ = try await JobSwitch.start(Self.configuration("j", rank: 0, peers: [:], localRanks: [0], directory: directory),
                                          group: MultiThreadedEventLoopGroup.singleton)
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
        let running = try await JobSwitch.start(Self.configuration("j-\(getpid())", rank: 0, peers: [:], localRanks: [2, 3], directory: directory),
                                                group: MultiThreadedEventLoopGroup.singleton)
        #expect(FileManager.default.fileExists(atPath: directory + "/r3.sw"))
        await running.stop()
    }
}
