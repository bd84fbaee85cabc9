/// Appends big-endian fields to a frame payload.
struct PayloadWriter {
    var buffer: [UInt8] = []

    mutating func u8(_ v: UInt8) { buffer.append(v) }
    mutating func u16(_ v: UInt16) { buffer += [UInt8(v >> 8), UInt8(v & 0xff)] }
    mutating func u32(_ v: UInt32) {
        buffer += [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
    mutating func u64(_ v: UInt64) {
        u32(UInt32(v >> 32))
        u32(UInt32(v & 0xffff_ffff))
    }
    mutating func bytes(_ b: [UInt8]) {
        u32(UInt32(b.count))
        buffer += b
    }
    mutating func string(_ s: String) { bytes(Array(s.utf8)) }
    mutating func strings(_ list: [String]) {
        u32(UInt32(list.count))
        for s in list { string(s) }
    }
}

/// Reads big-endian fields from a frame payload, never past its end.
struct PayloadReader {
    private let data: ArraySlice<UInt8>
    private var index: Int

    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        self.index = data.startIndex
    }

    var isAtEnd: Bool { index == data.endIndex }

    private mutating func take(_ n: Int) throws(GuestMessageError) -> ArraySlice<UInt8> {
        guard n >= 0, data.endIndex - index >= n else { throw .malformed("truncated field") }
        defer { index += n }
        return data[index..<index + n]
    }

    mutating func u8() throws(GuestMessageError) -> UInt8 { try take(1).first! }
    mutating func u16() throws(GuestMessageError) -> UInt16 {
        let b = try take(2)
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }
    mutating func u32() throws(GuestMessageError) -> UInt32 {
        let b = try take(4)
        var v: UInt32 = 0
        for byte in b { v = v << 8 | UInt32(byte) }
        return v
    }
    mutating func u64() throws(GuestMessageError) -> UInt64 {
        UInt64(try u32()) << 32 | UInt64(try u32())
    }
    mutating func bytes() throws(GuestMessageError) -> [UInt8] {
        Array(try take(Int(try u32())))
    }
    mutating func string() throws(GuestMessageError) -> String {
        String(decoding: try bytes(), as: UTF8.self)
    }
    mutating func strings() throws(GuestMessageError) -> [String] {
        let count = Int(try u32())
        // Each string needs at least its 4-byte length: bound the count by what is left.
        guard count <= (data.endIndex - index) / 4 else { throw .malformed("string list count \(count) too large") }
        var result: [String] = []
        result.reserveCapacity(count)
        for _ in 0..<count { result.append(try string()) }
        return result
    }
}
