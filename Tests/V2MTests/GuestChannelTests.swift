import Foundation
import GuestCrypto
import GuestProtocol
import NIOCore
import Logging
import Synchronization
import Testing
@testable import V2M

/// A fake guest agent on a plain POSIX unix socket, with the real guest end of the link
/// (`GuestLinkEndpoint`, OpenSSL's crypto): accepts one connection, then plays a script.
final class FakeGuest: Sendable {
    let path: String
    let credentialsPath: String
    let credentials: GuestCredentials
    private let listener: Int32

    /// `hostCredentials` are what the host end is given (by default the guest's own).
    init(hostCredentials: GuestCredentials? = nil) throws {
        path = "/tmp/v2m-fake-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
        credentialsPath = path + ".credentials"
        credentials = GuestCredentials(jobID: "job-fake", rank: 3, secret: .generate())
        try GuestCredentialsFile.write(hostCredentials ?? credentials, to: credentialsPath)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 1) == 0 else { throw V2MError.guestChannel(vm: "fake", reason: "bind failed") }
    }

    /// Accepts, answers the handshake, then sends `replies[0]` once it is established and `replies[i]` after
    /// the i-th host message (stdin aside), each step in ONE write, so several frames arrive coalesced. Returns the
    /// link's failures.
    @discardableResult
    func serve(_ replies: [[GuestMessage]], holdOpenMicroseconds: UInt32 = 0) -> [String] {
        let fd = accept(listener, nil, nil)
        var link = GuestLinkEndpoint(credentials: credentials, crypto: OpenSSLWireCryptography())
        var buffer = [UInt8](repeating: 0, count: 4096)
        var step = 0
        var failures: [String] = []
        func write(_ bytes: [UInt8]) { _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
        reading: while step < replies.count {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            for event in buffer.withUnsafeBytes({ link.receive(UnsafeRawBufferPointer(rebasing: $0.prefix(n)), now: .now()) }) {
                switch event {
                case .send(let bytes): write(bytes)
                case .message(.stdin): continue  // every exec is followed by its stdin (at least end-of-file)
                case .established, .message:
                    write(replies[step].flatMap { link.send($0) ?? [] })
                    step += 1
                    if step == replies.count { break reading }
                case .failed(let reason): failures.append(reason)
                case .reset: break
                }
            }
            if !failures.isEmpty { break }
        }
        usleep(holdOpenMicroseconds)
        close(fd)
        return failures
    }

    deinit {
        close(listener)
        unlink(path)
        unlink(credentialsPath)
    }
}

@Suite("Guest channel against a fake agent")
struct GuestChannelTests {
    let info = GuestInfo(kernelRelease: "6.1", hostname: "g", vseName: "t", agentVersion: "1", counter: 0)

    @Test("coalesced frames (ready+ready, output+output+exited) are all delivered")
    func coalesced() async throws {
        let guest = try FakeGuest()
        let info = self.info
        let server = Thread {
            guest.serve([
                [.ready(info), .ready(info)],  // once the handshake succeeds
                [.output(id: 1, stream: .stdout, bytes: Array("a".utf8)), .output(id: 1, stream: .stderr, bytes: Array("b".utf8)),
                 .exited(id: 1, status: 5)],  // reply to exec
                [.status(counter: 42, uptimeMilliseconds: 4200)],  // reply to statusRequest
            ])
        }
        server.start()
        let channel = try await GuestChannel.connect(socketPath: guest.path, credentialsPath: guest.credentialsPath, vmName: "fake", timeout: .seconds(5),
                                                     logger: Logger(label: "test"))
        #expect(try await channel.waitReady(timeout: .seconds(5)) == info)
        let output = Mutex<[String]>([])
        let status = try await channel.exec(["x"], onOutput: { stream, bytes in
            output.withLock { $0.append("\(stream):\(String(decoding: bytes, as: UTF8.self))") }
        })
        #expect(status == 5)
        #expect(output.withLock { $0 } == ["stdout:a", "stderr:b"])
        #expect(try await channel.status(timeout: .seconds(5)) == GuestStatus(counter: 42, uptimeMilliseconds: 4200))
        await channel.waitClosed()
        #expect(channel.isClosed)
        await #expect(throws: V2MError.self) { _ = try await channel.status(timeout: .seconds(1)) }
    }

    @Test("an exec the agent rejects is guestExecFailed; a silent agent times out")
    func failures() async throws {
        let guest = try FakeGuest()
        let info = self.info
        let server = Thread {
            // Held open well past the status timeout, even on a machine busy with parallel tests.
            guest.serve([[.ready(info)], [.execFailed(id: 1, reason: "nope: not found")], []], holdOpenMicroseconds: 10_000_000)
        }
        server.start()
        let channel = try await GuestChannel.connect(socketPath: guest.path, credentialsPath: guest.credentialsPath, vmName: "fake", timeout: .seconds(5),
                                                     logger: Logger(label: "test"))
        _ = try await channel.waitReady(timeout: .seconds(5))
        await #expect(throws: V2MError.guestExecFailed(vm: "fake", reason: "nope: not found")) {
            _ = try await channel.exec(["nope"], onOutput: { _, _ in })
        }
        await #expect(throws: V2MError.guestTimeout(vm: "fake", operation: "statusRequest")) {
            _ = try await channel.status(timeout: .milliseconds(300))
        }
        await channel.close()
    }

    @Test("a host with another secret fails the handshake on both ends; nothing reaches the guest")
    func wrongSecret() async throws {
        let guest = try FakeGuest(hostCredentials: GuestCredentials(jobID: "job-fake", rank: 3, secret: .generate()))
        let failures = Mutex<[String]>([])
        let server = Thread { failures.withLock { $0 = guest.serve([[.ready(self.info)]]) } }
        server.start()
        let channel = try await GuestChannel.connect(socketPath: guest.path, credentialsPath: guest.credentialsPath,
                                                     vmName: "fake", timeout: .seconds(5), logger: Logger(label: "test"))
        await #expect { _ = try await channel.waitReady(timeout: .seconds(5)) } throws: { error in
            if case V2MError.guestRefused = error { return true }
            Issue.record("expected guestRefused, got \(error)")
            return false
        }
        #expect(channel.isClosed)
        await channel.close()
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while failures.withLock({ $0.isEmpty }) && clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(failures.withLock { $0 }.contains { $0.contains("initiator proof does not verify") }, "\(failures.withLock { $0 })")
    }
}
