import Testing

@Test func VSEPlaceholder() { #expect(Bool(true)) }
