import Foundation
import Testing
@testable import VSE

/// The bzImage and ELF parsing behind PVH boot, on synthetic images.
@Suite struct PVHKernelTests {
    /// A bzImage header: `setup_sects` 3, boot protocol 2.15, payload at +0x100 of the protected-mode part.
    static func bzImageHeader(version: UInt16 = 0x020F, setupSectors: UInt8 = 3) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 0x250)
        header[0x1F1] = setupSectors
        header.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        header[0x206] = UInt8(version & 0xFF)
        header[0x207] = UInt8(version >> 8)
        header.replaceSubrange(0x248..<0x24C, with: [0x00, 0x01, 0x00, 0x00])  // payload_offset 0x100
        header.replaceSubrange(0x24C..<0x250, with: [0x34, 0x12, 0x00, 0x00])  // payload_length 0x1234
        return header
    }

    @Test func payloadLiesAfterTheSetupSectors() {
        #expect(PVHKernel.payloadRange(ofBzImage: Self.bzImageHeader()) == (4 * 512 + 0x100)..<(4 * 512 + 0x100 + 0x1234))
        // setup_sects 0 means 4.
        #expect(PVHKernel.payloadRange(ofBzImage: Self.bzImageHeader(setupSectors: 0))?.lowerBound == 5 * 512 + 0x100)
    }

    @Test func oldProtocolsAndNonKernelsHaveNoPayload() {
        #expect(PVHKernel.payloadRange(ofBzImage: Self.bzImageHeader(version: 0x0206)) == nil)
        var notKernel = Self.bzImageHeader()
        notKernel[0x202] = UInt8(ascii: "X")
        #expect(PVHKernel.payloadRange(ofBzImage: notKernel) == nil)
        #expect(PVHKernel.payloadRange(ofBzImage: [0x7F, 0x45, 0x4C, 0x46]) == nil)
    }

    @Test func decompressorFollowsTheMagic() {
        #expect(PVHKernel.decompressor(forPayloadStartingWith: [0x02, 0x21, 0x4C, 0x18, 0, 0]) == ["lz4", "-dc"])
        #expect(PVHKernel.decompressor(forPayloadStartingWith: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) == ["xz", "-dc"])
        #expect(PVHKernel.decompressor(forPayloadStartingWith: [0x1F, 0x8B, 8]) == ["gzip", "-dc"])
        #expect(PVHKernel.decompressor(forPayloadStartingWith: [0x00, 0x11]) == nil)
    }

    /// A 64-bit x86 ELF with one PT_LOAD and one PT_NOTE holding a note of `noteType` named `noteName`.
    static func elf(noteName: String = "Xen", noteType: UInt32 = 18, loadSize: UInt64 = 64) -> Data {
        var data = Data(count: 64 + 2 * 56)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { data.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
        }
        data.replaceSubrange(0..<6, with: [0x7F, 0x45, 0x4C, 0x46, 2, 1])
        put(UInt16(62), at: 18)       // EM_X86_64
        put(UInt64(64), at: 32)       // e_phoff
        put(UInt16(56), at: 54)       // e_phentsize
        put(UInt16(2), at: 56)        // e_phnum
        var name = Array(noteName.utf8) + [0]
        while name.count % 4 != 0 { name.append(0) }
        var note = Data()
        for word in [UInt32(noteName.utf8.count + 1), 4, noteType] { withUnsafeBytes(of: word.littleEndian) { note.append(contentsOf: $0) } }
        note.append(contentsOf: name + [0, 0, 0, 1])
        let noteOffset = UInt64(data.count)
        // PT_LOAD covering the headers plus `loadSize` bytes (may run past the end: a truncated file).
        put(UInt32(1), at: 64)
        put(UInt64(0), at: 64 + 8)
        put(UInt64(noteOffset) + UInt64(note.count) + loadSize, at: 64 + 32)
        // PT_NOTE.
        put(UInt32(4), at: 120)
        put(noteOffset, at: 120 + 8)
        put(UInt64(note.count), at: 120 + 32)
        data.append(note)
        data.append(Data(count: 64))
        return data
    }

    @Test func pvhNoteMakesABootableKernel() {
        #expect(PVHKernel.isCompletePVHKernel(elf: Self.elf()))
    }

    @Test func otherNotesOrATruncatedFileDoNot() {
        #expect(!PVHKernel.isCompletePVHKernel(elf: Self.elf(noteType: 17)))
        #expect(!PVHKernel.isCompletePVHKernel(elf: Self.elf(noteName: "GNU")))
        #expect(!PVHKernel.isCompletePVHKernel(elf: Self.elf(loadSize: 65)))
        #expect(!PVHKernel.isCompletePVHKernel(elf: Self.elf().prefix(100)))
        #expect(!PVHKernel.isCompletePVHKernel(elf: Data("not an elf at all, just some text".utf8)))
    }

    @Test func initrdCompressionFollowsTheKernelConfig() {
        #expect(InitrdCompression.best(forKernelConfig: "CONFIG_RD_GZIP=y\nCONFIG_RD_LZ4=y\n") == .lz4)
        #expect(InitrdCompression.best(forKernelConfig: "CONFIG_RD_GZIP=y\n# CONFIG_RD_LZ4 is not set\n") == .gzip)
        #expect(InitrdCompression.best(forKernelConfig: "") == .gzip)
    }
}
