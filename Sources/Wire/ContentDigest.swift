import Crypto

/// An incremental SHA-256 over a file's bytes as they arrive in order (staging verifies the whole file
/// against the expected digest without reading it back). Value type: copying forks the running state.
public struct ContentDigest: @unchecked Sendable {  // SHA256 is a copy-on-write value; not marked Sendable upstream
    private var hasher = SHA256()

    public init() {}

    /// Adds the next bytes of the file.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The lowercase hex SHA-256 of everything added so far (the state is not consumed).
    public func hex() -> String {
        let digest = hasher.finalize()
        return digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
