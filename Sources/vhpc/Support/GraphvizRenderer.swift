import Foundation
import HostProcess
import VSE

/// Renders Graphviz dot text to SVG with Graphviz's own `dot` (installed by `make deps`).
enum GraphvizRenderer {
    static func svg(fromDot text: String) throws -> String {
        let directory = NSTemporaryDirectory() + "vhpc-dot-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/graph.dot"
        try Data(text.utf8).write(to: URL(fileURLWithPath: input))
        do {
            return try HostCommand("dot", ["-Tsvg", input]).run().stdoutText
        } catch HostCommandError.notFound {
            throw CLIErrors.fail("cannot draw SVG: Graphviz's `dot` is not installed (`make deps` or `apt-get install graphviz`)")
        } catch {
            throw CLIErrors.fail("cannot draw SVG: \(error)")
        }
    }
}
