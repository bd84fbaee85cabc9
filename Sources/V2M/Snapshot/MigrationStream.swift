import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// A QEMU migration stream between a file and QEMU over a unix socket (`migrate unix:…`,
/// `migrate-incoming unix:…`). libvirt runs QEMU under a seccomp sandbox that forbids spawning, so the
/// `exec:cat` the `qemu` plug-in uses would kill it: vhpc moves the bytes itself (sendfile when sending).
enum MigrationStream {
    /// Listens on `socketPath` for one connection (QEMU's outgoing migration) and writes what arrives to
    /// `file` (created 0600). Call before `migrate`; await ``Receiver/finished()`` after QEMU completed.
    static func receive(at socketPath: String, into file: String) async throws -> Receiver {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw V2MError.migrationFailed(vm: "", reason: "cannot create \(file): \(String(cString: strerror(errno)))") }
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.any().makePromise(of: UInt64.self)
        let writer = FileWriter(fd: fd, path: file, promise: promise)
        do {
            let server = try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(writer) }
                }
                .bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: true).get()
            return Receiver(server: server, result: promise.futureResult, writer: writer)
        } catch {
            writer.fail(error)
            throw V2MError.migrationFailed(vm: "", reason: "cannot listen on \(socketPath): \(error)")
        }
    }

    /// The listening end of ``receive(at:into:)``.
    final class Receiver: Sendable {
        let server: any Channel
        let result: EventLoopFuture<UInt64>
        let writer: FileWriter

        init(server: any Channel, result: EventLoopFuture<UInt64>, writer: FileWriter) {
            self.server = server
            self.result = result
            self.writer = writer
        }

        /// The bytes written once QEMU closed the stream; throws when a write failed (e.g. the disk is full).
        func finished(timeout: Duration = .seconds(60)) async throws -> UInt64 {
            defer { close() }
            return try await withDeadline(timeout, onTimeout: { .migrationFailed(vm: "", reason: "the migration stream did not end within \(timeout)") }) {
                try await self.result.get()
            }
        }

        /// Stops listening and drops a connection still open.
        func close() {
            server.close(promise: nil)
            writer.fail(V2MError.migrationFailed(vm: "", reason: "stream abandoned"))
        }
    }

    /// Writes a connection's bytes to a file; one connection only.
    final class FileWriter: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        // Touched on the connection's event loop only, except `fail` (guarded by `lock`).
        private let lock = NSLock()
        private var fd: Int32
        private var written: UInt64 = 0
        private let path: String
        private let promise: EventLoopPromise<UInt64>

        init(fd: Int32, path: String, promise: EventLoopPromise<UInt64>) {
            self.fd = fd
            self.path = path
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            let failure: String? = lock.withLock {
                guard fd >= 0 else { return "stream abandoned" }
                return buffer.withUnsafeReadableBytes { bytes -> String? in
                    var offset = 0
                    while offset < bytes.count {
                        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                        if n < 0 {
                            if errno == EINTR { continue }
                            return "writing \(path): \(String(cString: strerror(errno)))"
                        }
                        offset += n
                    }
                    written += UInt64(bytes.count)
                    return nil
                }
            }
            if let failure {
                fail(V2MError.migrationFailed(vm: "", reason: failure))
                context.close(promise: nil)  // QEMU sees the stream break and reports the migration failed
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            let total: UInt64? = lock.withLock {
                guard fd >= 0 else { return nil }
                Glibc.close(fd)
                fd = -1
                return written
            }
            if let total { promise.succeed(total) }
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(error)
            context.close(promise: nil)
        }

        /// Closes the file and fails the result (no-op once finished).
        func fail(_ error: any Error) {
            let open: Bool = lock.withLock {
                guard fd >= 0 else { return false }
                Glibc.close(fd)
                fd = -1
                return true
            }
            if open { promise.fail(error) }
        }
    }

    /// Sends `file` to QEMU listening at `socketPath` (after `migrate-incoming unix:…`), retrying the
    /// connection until `timeout`; returns the bytes sent.
    static func send(_ file: String, to socketPath: String, timeout: Duration = .seconds(30)) async throws -> UInt64 {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        let channel: any Channel
        while true {
            do {
                channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(unixDomainSocketPath: socketPath).get()
                break
            } catch {
                guard clock.now < deadline else { throw V2MError.migrationFailed(vm: "", reason: "cannot connect to \(socketPath): \(error)") }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            try? await channel.close()
            throw V2MError.migrationFailed(vm: "", reason: "cannot open \(file): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        fstat(fd, &info)
        let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: fd)
        defer { try? handle.close() }
        do {
            try await channel.writeAndFlush(FileRegion(fileHandle: handle, readerIndex: 0, endIndex: Int(info.st_size))).get()
            try await channel.close().get()
        } catch {
            try? await channel.close()
            throw V2MError.migrationFailed(vm: "", reason: "sending \(file) to \(socketPath): \(error)")
        }
        return UInt64(info.st_size)
    }
}
