import Testing

@Test func ControlPlaceholder() { #expect(Bool(true)) }
