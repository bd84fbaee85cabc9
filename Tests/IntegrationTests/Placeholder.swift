import Testing

@Test func IntegrationPlaceholder() { #expect(Bool(true)) }
