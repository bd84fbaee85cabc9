/// The per-job shared secret every agent of a job holds; the root of all handshake proofs and session keys.
///
/// Never printed: its description is redacted. Hand it to agents with ``hexEncoded`` over a trusted channel
/// (a file readable only by the user, an environment variable of a launched process, a VM's fw_cfg file).
public struct JobSecret: Sendable, Hashable, CustomStringConvertible {
    /// The secret itself, for the cryptography backends.
    package let bytes: [UInt8]

    /// Smallest accepted secret, in bytes.
    public static let minimumByteCount = 16

    /// `nil` if `bytes` is shorter than ``minimumByteCount``.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count >= Self.minimumByteCount else { return nil }
        self.bytes = Array(bytes)
    }

    /// Parses the output of ``hexEncoded``.
    public init?(hexEncoded hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes: bytes)
    }

    /// 32 bytes from the system's cryptographically secure generator.
    public static func generate() -> JobSecret {
        JobSecret(bytes: systemRandomBytes(32))!
    }

    /// The secret as lowercase hexadecimal, for distribution to agents.
    public var hexEncoded: String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    public var description: String { "JobSecret(redacted)" }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
