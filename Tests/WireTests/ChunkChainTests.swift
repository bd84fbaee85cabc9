import Testing
import Wire

/// The chunk chain: per-chunk checksums whose last one is the whole file's SHA-256.
@Suite struct ChunkChainTests {
    static let file: [UInt8] = (0..<(10 * 4096 + 777)).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }

    @Test func theLastChecksumIsTheFilesSHA256() {
        let checksums = ChunkChecksum.chain(of: Self.file, chunkSize: 4096)
        #expect(checksums.count == 11)
        #expect(checksums.last == Self.file.withUnsafeBytes { ChunkChecksum(of: $0) })
        #expect(Set(checksums).count == checksums.count)
    }

    @Test func aChangedByteChangesItsChunksChecksumAndEveryLaterOne() {
        var changed = Self.file
        changed[3 * 4096 + 10] ^= 1
        let original = ChunkChecksum.chain(of: Self.file, chunkSize: 4096)
        let modified = ChunkChecksum.chain(of: changed, chunkSize: 4096)
        #expect(Array(original.prefix(3)) == Array(modified.prefix(3)))
        for index in 3..<original.count { #expect(original[index] != modified[index], "chunk \(index)") }
    }

    @Test func aChunkThatDoesNotEndOnABlockIsRefused() {
        let chain = ChunkChain()
        Self.file.withUnsafeBytes { bytes in
            #expect(chain.absorbing(UnsafeRawBufferPointer(rebasing: bytes[0..<100])) == nil)
            #expect(chain.absorbing(UnsafeRawBufferPointer(rebasing: bytes[0..<128]))?.chain.position == 128)
        }
    }

    @Test func anEmptyFileHasTheEmptySHA256() {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        #expect(ChunkChain().finishing(empty) == ChunkChecksum(of: empty))
    }
}
