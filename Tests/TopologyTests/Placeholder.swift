import Testing

@Test func TopologyPlaceholder() { #expect(Bool(true)) }
