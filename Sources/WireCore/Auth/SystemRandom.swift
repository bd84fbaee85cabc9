/// `count` bytes from the system's cryptographically secure generator: the standard library's
/// `SystemRandomNumberGenerator`, which on Linux reads getrandom(2). Nonces and job secrets come from here,
/// on the host and in the guest alike.
func systemRandomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes: [UInt8] = []
    bytes.reserveCapacity(count + 8)
    while bytes.count < count {
        withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
    }
    return Array(bytes.prefix(count))
}
