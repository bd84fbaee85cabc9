import CChunkDigest

/// The SHA-256 of a staged file, taken chunk by chunk, with the chaining value after each chunk exposed.
///
/// A chunk's ``ChunkChecksum`` is the SHA-256 chaining value after the file's bytes up to the chunk's end;
/// the last chunk's is the SHA-256 of the whole file. A receiver that takes chunks in order keeps one
/// `ChunkChain`: absorbing a chunk and comparing the result checks that chunk, and the last comparison is the
/// whole-file check against the manifest. One hash pass per node checks both: from its own chaining value
/// (itself checked), a receiver can only reach the sender's next value with the sender's bytes, short of a
/// second preimage of SHA-256's compression function; and the last comparison is SHA-256 itself. Chunks
/// other than the last must be a multiple of ``blockSize`` bytes long.
public struct ChunkChain: Sendable {
    /// SHA-256's block size: every chunk but the last is a multiple of it.
    public static let blockSize = 64

    private var state: vhpc_sha256_chain

    /// Before the first byte.
    public init() {
        state = vhpc_sha256_chain()
        vhpc_sha256_chain_init(&state)
    }

    /// Bytes absorbed so far.
    public var position: UInt64 { state.length }

    /// The chaining value after the next chunk (a multiple of ``blockSize`` bytes), and the chain advanced
    /// past it; nil if the chunk's length is not a multiple of the block size.
    public func absorbing(_ bytes: UnsafeRawBufferPointer) -> (checksum: ChunkChecksum, chain: ChunkChain)? {
        var next = self
        guard vhpc_sha256_chain_absorb(&next.state, bytes.baseAddress, bytes.count) == 1 else { return nil }
        return (next.checksum, next)
    }

    /// The SHA-256 of the whole file, whose last chunk is `bytes` (any length).
    public func finishing(_ bytes: UnsafeRawBufferPointer) -> ChunkChecksum {
        var digest = [UInt8](repeating: 0, count: 32)
        withUnsafePointer(to: state) { state in
            digest.withUnsafeMutableBufferPointer { vhpc_sha256_chain_finish(state, bytes.baseAddress, bytes.count, $0.baseAddress) }
        }
        return ChunkChecksum(uncheckedBytes: digest)
    }

    /// The chaining value (big-endian words, as in a SHA-256 digest).
    public var checksum: ChunkChecksum {
        let words = [state.h.0, state.h.1, state.h.2, state.h.3, state.h.4, state.h.5, state.h.6, state.h.7]
        return ChunkChecksum(uncheckedBytes: words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (24 - 8 * $0)) } })
    }
}

extension ChunkChecksum {
    /// The chunk checksums of a whole file in `chunkSize` pieces (a multiple of ``ChunkChain/blockSize``): the
    /// chaining value after each chunk, and the file's SHA-256 for the last. For tests and benchmarks that
    /// build chunks in memory.
    public static func chain(of file: [UInt8], chunkSize: Int) -> [ChunkChecksum] {
        var chain = ChunkChain()
        var result: [ChunkChecksum] = []
        precondition(chunkSize > 0 && chunkSize % ChunkChain.blockSize == 0, "chunk size \(chunkSize) is not a multiple of 64")
        var offset = 0
        repeat {
            let end = min(file.count, offset + chunkSize)
            file.withUnsafeBytes { bytes in
                let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
                if end == file.count {
                    result.append(chain.finishing(piece))
                } else if let (checksum, next) = chain.absorbing(piece) {
                    result.append(checksum)
                    chain = next
                }
            }
            offset = end
        } while offset < file.count
        return result
    }
}
