import Testing

@Test func WirePlaceholder() { #expect(Bool(true)) }
