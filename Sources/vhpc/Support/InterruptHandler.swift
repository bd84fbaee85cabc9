import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C / SIGTERM for commands that build or boot (`vse build`, `vse boot`): say so, then exit 130/143
/// through ``TerminationSignals/exit(after:)`` (running build commands stopped, temporary trees removed).
enum InterruptHandler {
    static func install() {
        TerminationSignals.handle([SIGINT, SIGTERM]) { signal in
            CLIErrors.printError("vhpc: interrupted")
            TerminationSignals.exit(after: signal)
        }
    }
}
