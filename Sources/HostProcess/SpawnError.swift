#if canImport(Glibc)
import Glibc
#endif

/// A process that could not be started: what, and why (errno text).
public struct SpawnError: Error, Sendable, CustomStringConvertible {
    /// The program that was to run.
    public var executable: String
    /// errno of the failed fork/exec.
    public var errorNumber: Int32

    public init(executable: String, errorNumber: Int32) {
        self.executable = executable
        self.errorNumber = errorNumber
    }

    /// Whether the program does not exist (ENOENT) or is not executable (EACCES/ENOEXEC).
    public var isNotFound: Bool { errorNumber == ENOENT }

    public var description: String {
        "\(executable): \(String(cString: strerror(errorNumber)))"
    }
}
