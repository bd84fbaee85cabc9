import Foundation
import NIOCore
import Testing
import Wire

@testable import Control

/// The source's side of staging on a real file: chunk checksums taken as it is read, in any order.
@Suite struct StagingFilesTests {
    func withSource<R>(_ bytes: [UInt8], _ body: (StagingFiles, StagingOffer) throws -> R) throws -> R {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vhpc-staging-files-\(getpid())-\(UInt64.random(in: 0 ..< .max))").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let offer = StagingOffer(transferID: 3, size: UInt64(bytes.count), sha256: "", chunkSize: 4096, target: .job(index: 0, path: "f"))
        let files = StagingFiles(role: .source([3: path]))
        defer { files.close() }
        return try body(files, offer)
    }

    func perform(_ files: StagingFiles, _ io: StagingIO) -> StagingEvent? {
        let answer = SendableBox()
        let done = DispatchSemaphore(value: 0)
        files.perform(io) { event in answer.event = event; done.signal() }
        done.wait()
        return answer.event
    }

    final class SendableBox: @unchecked Sendable { var event: StagingEvent? }

    @Test func chunksReadOutOfOrderGetTheChecksumsOfTheChain() throws {
        let bytes = (0..<(6 * 4096 + 100)).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let expected = ChunkChecksum.chain(of: bytes, chunkSize: 4096)
        try withSource(bytes) { files, offer in
            #expect(perform(files, .open(offer)) == .opened(transferID: 3, present: true))
            // The last chunk first (the chain is hashed forward to it), then one before it (from the table).
            for index in [6, 2, 0, 5] {
                let offset = UInt64(index * 4096)
                guard case .read(_, let at, let data, let checksum) = perform(files, .read(transferID: 3, offset: offset, length: offer.chunkLength(at: offset))) else {
                    Issue.record("no read answer for chunk \(index)")
                    continue
                }
                #expect(at == offset)
                #expect(Array(data.readableBytesView) == Array(bytes[Int(offset)..<Int(offset) + offer.chunkLength(at: offset)]))
                #expect(checksum == expected[index], "chunk \(index)")
            }
        }
    }

    /// A node writes whole chunks past the page cache and the short last one the ordinary way; what it
    /// commits is the file, byte for byte, and a chunk read back before the commit is what was written.
    @Test func aNodeWritesChunksDirectlyAndCommitsTheExactFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vhpc-staging-node-\(getpid())-\(UInt64.random(in: 0 ..< .max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = (0..<(3 * 8192 + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
        let offer = StagingOffer(transferID: 4, size: UInt64(bytes.count), sha256: "", chunkSize: 8192, target: .job(index: 0, path: "f"))
        let files = StagingFiles(role: .node(directory: directory, jobID: "job-t"), durable: true)
        defer { files.close() }
        #expect(perform(files, .open(offer)) == .opened(transferID: 4, present: false))
        for offset in stride(from: 0, to: bytes.count, by: 8192) {
            let length = offer.chunkLength(at: UInt64(offset))
            let data = ByteBuffer(bytes: bytes[offset..<offset + length])
            #expect(perform(files, .write(transferID: 4, offset: UInt64(offset), data: data)) == .written(transferID: 4, offset: UInt64(offset), length: length))
        }
        guard case .read(_, _, let back, let checksum) = perform(files, .read(transferID: 4, offset: 8192, length: 8192)) else {
            Issue.record("no read answer")
            return
        }
        #expect(Array(back.readableBytesView) == Array(bytes[8192..<16384]))
        #expect(checksum == nil, "a received file's checksums are the machine's")
        guard case .committed(_, let path) = perform(files, .commit(transferID: 4)) else {
            Issue.record("not committed")
            return
        }
        #expect(FileManager.default.contents(atPath: path) == Data(bytes))
    }

    /// Issue 20, finding 8: a node's copy of an image counted as present once its manifest existed, so a
    /// corrupted copy was booted and never repaired. Now its artifacts are checked against the manifest's
    /// digests: an intact copy is used, a corrupt one removed and staged again.
    @Test func aNodesCorruptImageCopyIsStagedAgain() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vhpc-staging-image-\(getpid())-\(UInt64.random(in: 0 ..< .max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let installed = directory + "/images/abc"
        try FileManager.default.createDirectory(atPath: installed, withIntermediateDirectories: true)
        let kernel = Array("kernel bytes".utf8)
        var digest = ContentDigest()
        kernel.withUnsafeBytes { digest.update($0) }
        let manifest = "{\"id\": \"abc\", \"kernel\": {\"path\": \"vmlinux\", \"size\": \(kernel.count), \"sha256\": \"\(digest.hex())\"}}"
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: installed + "/manifest.json"))
        let offer = StagingOffer(transferID: 9, size: UInt64(kernel.count), sha256: digest.hex(), chunkSize: 4096,
                                 target: .image(imageID: "abc", artifact: "vmlinux", artifactCount: 2))

        try Data(kernel).write(to: URL(fileURLWithPath: installed + "/vmlinux"))
        let intact = StagingFiles(role: .node(directory: directory, jobID: "job-a"))
        #expect(perform(intact, .open(offer)) == .opened(transferID: 9, present: true))
        intact.close()

        try Data("kernel bytez".utf8).write(to: URL(fileURLWithPath: installed + "/vmlinux"))
        let corrupt = StagingFiles(role: .node(directory: directory, jobID: "job-b"))
        #expect(perform(corrupt, .open(offer)) == .opened(transferID: 9, present: false))
        #expect(!FileManager.default.fileExists(atPath: installed), "the corrupt copy is gone")
        corrupt.close()
    }
}
