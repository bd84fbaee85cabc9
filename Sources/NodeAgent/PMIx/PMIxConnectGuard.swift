/// Checks the first message of a PMIx connection a guest relays before any of it reaches the host's PMIx
/// server: a VM's task may connect only as an ordinary client (`PMIX_SIMPLE_CLIENT`) of its own job's
/// namespace and its own rank — never as a tool or launcher (which could spawn or query), nor as another rank.
/// Sans I/O: feed it the connection's bytes until it passes them (then everything after) or refuses.
///
/// OpenPMIx 4.2's connect message: a 16-byte header (`pindex`, `tag`, `nbytes`, padding; host order) whose
/// `nbytes` is the body's length, then the body: the security module's name (NUL-terminated), the credential's
/// length (u32, network order) and bytes, the process type (u8), and for a simple client its namespace
/// (NUL-terminated) and rank (u32, network order), then version, buffer and storage modules.
public struct PMIxConnectGuard: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// The bytes so far are not a whole connect message yet.
        case wait
        /// Send these on (the buffered connect message at first, then each chunk as it comes).
        case forward([UInt8])
        /// Close the connection: why.
        case refuse(String)
    }

    /// Most bytes buffered before a verdict: strings of at most 256 bytes and a credential of at most 1 KiB
    /// bound the fields checked (a real connect message is ~100 bytes).
    public static let limit = 16 + 257 + 4 + 1024 + 1 + 257 + 4

    public let namespace: String
    public let rank: UInt32
    private var buffered: [UInt8] = []
    private var decided: Outcome?

    public init(namespace: String, rank: UInt32) {
        self.namespace = namespace
        self.rank = rank
    }

    public mutating func add(_ bytes: [UInt8]) -> Outcome {
        switch decided {
        case .forward?: return .forward(bytes)
        case .refuse?: return .refuse("already refused")
        case .wait?, nil: break
        }
        buffered += bytes
        let outcome = Self.check(buffered, namespace: namespace, rank: rank)
        switch outcome {
        case .wait:
            return .wait
        case .forward:
            decided = .forward([])
            defer { buffered = [] }
            return .forward(buffered)
        case .refuse:
            decided = outcome
            return outcome
        }
    }

    /// The verdict on the bytes a connection has sent so far.
    static func check(_ bytes: [UInt8], namespace: String, rank: UInt32) -> Outcome {
        guard bytes.count >= 16 else { return .wait }
        var reader = Reader(bytes: bytes, offset: 16)
        guard reader.string() != nil else { return reader.verdict("security module") }
        guard let credentialLength = reader.u32() else { return .wait }
        guard credentialLength <= 1024 else { return .refuse("credential of \(credentialLength) bytes") }
        guard reader.skip(Int(credentialLength)) else { return .wait }
        guard let type = reader.u8() else { return .wait }
        guard type == 0 else { return .refuse("connects as PMIx process type \(type) (a tool or launcher), not as a client") }
        guard let claimed = reader.string() else { return reader.verdict("namespace") }
        guard let claimedRank = reader.u32() else { return .wait }
        // The namespace is never echoed: its tag is what authenticates a connection to the server's port.
        guard claimed == namespace else { return .refuse("claims a namespace that is not its job's") }
        guard claimedRank == rank else { return .refuse("claims rank \(claimedRank)") }
        return .forward([])
    }

    /// Reads the connect message's fields.
    private struct Reader {
        let bytes: [UInt8]
        var offset: Int
        /// Whether a string was cut off by the end of the bytes (wait) or by the length limit (refuse).
        var tooLong = false

        mutating func string() -> String? {
            guard let end = bytes[offset...].firstIndex(of: 0) else {
                tooLong = bytes.count - offset > 256
                return nil
            }
            guard end - offset <= 256 else {
                tooLong = true
                return nil
            }
            defer { offset = end + 1 }
            return String(decoding: bytes[offset..<end], as: UTF8.self)
        }

        mutating func u32() -> UInt32? {
            guard bytes.count - offset >= 4 else { return nil }
            defer { offset += 4 }
            return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func u8() -> UInt8? {
            guard offset < bytes.count else { return nil }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func skip(_ count: Int) -> Bool {
            guard bytes.count - offset >= count else { return false }
            offset += count
            return true
        }

        func verdict(_ field: String) -> Outcome {
            tooLong ? .refuse("\(field) longer than 256 bytes") : .wait
        }
    }
}
