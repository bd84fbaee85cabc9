import Testing

@Test func V2MPlaceholder() { #expect(Bool(true)) }
