import Foundation
import Testing

/// The README's CLI reference is the binary's own `--help` (`scripts/readme-cli.sh`): a change to an option
/// that is not carried into the README fails here.
@Suite struct ReadmeCLITests {
    @Test func theReadmesCLIReferenceMatchesTheBinarysHelp() throws {
        let result = try CLI.run(program: "/bin/sh", [CLI.repositoryRoot + "/scripts/readme-cli.sh", "--check", CLI.vhpc])
        let text = result.stdout + result.stderr
        #expect(result.status == 0, "README.md is stale (run scripts/readme-cli.sh):\n\(text.prefix(4000))")
    }
}
