import Testing
import VSE

@Suite struct SpecSizeParserTests {
    static let valid: [(String, UInt64)] = [
        ("512M", 512 << 20),
        ("1G", 1 << 30),
        ("1024K", 1 << 20),
        ("2GiB", 2 << 30),
        ("2gib", 2 << 30),
        ("256MB", 256 << 20),
        ("1T", 1 << 40),
        ("1P", 1 << 50),
        ("536870912", 536_870_912),
        ("100B", 100),
        ("1.5G", 3 << 29),
        ("0.5K", 512),
        (" 64 M ", 64 << 20),
        ("0", 0),
        ("16383P", 16383 << 50),
    ]

    @Test(arguments: valid)
    func parses(text: String, bytes: UInt64) {
        #expect(SizeParser.parseBytes(text) == bytes)
    }

    @Test(arguments: ["", "M", "12Q", "1.G", ".5G", "1.5", "-1G", "1e9", "1GG", "1 G B", "18446744073709551616", "16384P", "1iB", "0x10"])
    func rejects(text: String) {
        #expect(SizeParser.parseBytes(text) == nil)
    }

    @Test func largestValue() {
        #expect(SizeParser.parseBytes("18446744073709551615") == UInt64.max)
    }
}
