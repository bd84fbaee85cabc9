import CControlSupport
#if canImport(Glibc)
import Glibc
#endif

/// Writes the whole, aligned chunks of a partial file with `O_DIRECT`, through one aligned buffer that is
/// reused, so a staged chunk allocates no page-cache page.
///
/// Filling fresh page-cache pages was most of staging's CPU on a VM whose host takes freed memory back (the
/// kernel's copy stalls on every newly touched page). The chunk's bytes are copied once into the buffer
/// (warm memory) and the device reads them from there. The last, shorter chunk and anything unaligned go
/// through the file's ordinary descriptor; reads back (for a slow child) and `fsync` use that one too.
final class DirectWriter {
    /// Offsets, lengths and the buffer address must be multiples of this.
    static let alignment = 4096

    /// How a write went.
    enum Outcome: Equatable {
        case written
        /// Not for direct I/O (unaligned, or larger than the buffer): write it the ordinary way.
        case notApplicable
        /// The write failed with this `errno` (EINVAL: the file system does not do direct I/O after all).
        case failed(Int32)
    }

    private let fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int

    /// Nil when `chunkSize` is not a multiple of ``alignment`` or the file system refuses `O_DIRECT`.
    init?(path: String, chunkSize: Int) {
        guard chunkSize > 0, chunkSize % Self.alignment == 0 else { return nil }
        let fd = vhpc_open_direct_write(path)
        guard fd >= 0 else { return nil }
        var memory: UnsafeMutableRawPointer?
        guard posix_memalign(&memory, Self.alignment, chunkSize) == 0, let memory else {
            Glibc.close(fd)
            return nil
        }
        self.fd = fd
        self.buffer = memory
        self.capacity = chunkSize
    }

    deinit {
        Glibc.close(fd)
        free(buffer)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) -> Outcome {
        guard !bytes.isEmpty, bytes.count <= capacity, bytes.count % Self.alignment == 0,
              offset % UInt64(Self.alignment) == 0, let source = bytes.baseAddress else { return .notApplicable }
        buffer.copyMemory(from: source, byteCount: bytes.count)
        if let code = StagingFiles.writeAll(fd, UnsafeRawBufferPointer(start: buffer, count: bytes.count), at: offset) {
            return .failed(code)
        }
        return .written
    }
}
