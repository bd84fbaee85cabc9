/// Where a handshake gets its nonce. Production uses ``system``; tests inject fixed nonces.
public struct NonceSource: Sendable {
    private let make: @Sendable () -> Nonce

    public init(_ make: @escaping @Sendable () -> Nonce) {
        self.make = make
    }

    public func next() -> Nonce { make() }

    /// Fresh bytes from the system's cryptographically secure generator.
    public static let system = NonceSource { Nonce.random() }

    /// Always the same nonce. For tests only: reusing a nonce defeats replay protection.
    public static func fixed(_ nonce: Nonce) -> NonceSource {
        NonceSource { nonce }
    }
}
