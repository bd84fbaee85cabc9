import Foundation
import Synchronization
import Testing
@testable import HostProcess

/// `TerminationSignals`: a caught signal reaches the current handler only. (The signal itself is caught by a
/// dispatch source; that path is exercised end to end by ControlFaultTests' and VSEIntegrationTests'
/// Ctrl-C tests, which send SIGINT/SIGTERM to a real `vhpc`.)
@Suite struct TerminationSignalsTests {
    @Test func aSignalReachesTheCurrentHandlerOnly() {
        let first = Mutex(0), second = Mutex(0)
        TerminationSignals.handle([SIGUSR2]) { _ in first.withLock { $0 += 1 } }
        TerminationSignals.handle([SIGUSR2]) { number in second.withLock { $0 += Int(number) } }
        TerminationSignals.deliver(SIGUSR2)
        #expect(second.withLock { $0 } == Int(SIGUSR2))
        #expect(first.withLock { $0 } == 0, "the handler set later replaces the earlier one")
    }
}
