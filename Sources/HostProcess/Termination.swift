#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended, from its `waitpid` status.
public enum Termination: Sendable, Hashable, CustomStringConvertible {
    /// It exited with this status.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)
    /// It was reaped by someone else (its status is lost).
    case unknown

    /// Decodes a raw `waitpid` status.
    public init(waitStatus status: Int32) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    /// The shell's convention: the exit status, 128 + signal for a killed process, -1 when unknown.
    public var code: Int32 {
        switch self {
        case .exited(let status): status
        case .signaled(let signal): 128 + signal
        case .unknown: -1
        }
    }

    /// "exited with status 1", "killed by signal 9".
    public var description: String {
        switch self {
        case .exited(let status): "exited with status \(status)"
        case .signaled(let signal): "killed by signal \(signal)"
        case .unknown: "exited"
        }
    }
}
