import Foundation
import Testing

/// The README's CLI reference is the binary's own `--help` (`scripts/readme-cli.sh`): a change to an option
/// that is not carried into the README fails here.
@Suite struct ReadmeCLITests {
    @Test func theReadmesCLIReferenceMatchesTheBinarysHelp() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [CLI.repositoryRoot + "/scripts/readme-cli.sh", "--check", CLI.vhpc]
        process.currentDirectoryURL = URL(fileURLWithPath: CLI.repositoryRoot)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "README.md is stale (run scripts/readme-cli.sh):\n\(text.prefix(4000))")
    }
}
