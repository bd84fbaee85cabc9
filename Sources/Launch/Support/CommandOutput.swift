import Foundation

/// What a short query command (`ssh -G`, `srun --version`, `scontrol show node`) prints on stdout: the one
/// way the launchers ask the host's tools. stderr is discarded, stdin is /dev/null.
enum CommandOutput {
    /// stdout of `executable arguments`; nil if it cannot start, or (with `requireSuccess`) exits non-zero.
    static func stdout(of executable: String, _ arguments: [String], requireSuccess: Bool = true) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard !requireSuccess || process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
