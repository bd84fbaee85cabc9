import ArgumentParser
import Foundation
import VSE

/// Turns library errors into one clear line (or one line per diagnostic) and a non-zero exit.
enum CLIErrors {
    /// Loads a spec; on problems prints each diagnostic to stderr and exits 1.
    static func loadSpec(_ path: String) throws -> VSESpec {
        do {
            return try SpecLoader.load(path: path)
        } catch let error as SpecValidationError {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode(1)
        } catch {
            throw fail("\(path): \(error)")
        }
    }

    /// Prints `vhpc: message` to stderr and returns an exit code to throw.
    static func fail(_ message: String, code: Int32 = 1) -> ExitCode {
        printError("vhpc: " + message)
        return ExitCode(code)
    }

    static func printError(_ line: String) {
        // write(2), not FileHandle: a closed stderr (EPIPE) must not trap.
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
