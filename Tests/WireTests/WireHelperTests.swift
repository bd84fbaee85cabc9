import Testing
@testable import WireCore
import Wire

/// Small wire helpers (nonces, identities).
@Suite struct WireHelperTests {
    @Test func systemNoncesDiffer() {
        #expect(NonceSource.system.next() != NonceSource.system.next())
        #expect(PeerIdentity(rank: 7, role: .toolAgent, index: 2).description == "toolAgent#7.2")
    }
}
