import Foundation
import Testing
@testable import NodeAgent

/// An agent reads its configuration line from stdin a block at a time.
@Suite struct ConfigurationLineTests {
    /// A pipe holding `chunks`, written in turn, then closed; returns its read end.
    private func pipe(_ chunks: [String]) -> Int32 {
        var fds: [Int32] = [0, 0]
        #expect(Foundation.pipe(&fds) == 0)
        for chunk in chunks { _ = chunk.utf8CString.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count - 1) } }
        close(fds[1])
        return fds[0]
    }

    @Test func theFirstLineWithoutItsNewline() {
        let fd = pipe(["{\"jobID\":\"j\"}\nwithdrawn\n"])
        defer { close(fd) }
        #expect(String(decoding: NodeAgentProcess.readLine(fd), as: UTF8.self) == "{\"jobID\":\"j\"}")
    }

    @Test func aLineLongerThanOneBlock() {
        let long = String(repeating: "x", count: 10_000)
        let fd = pipe([long, "\n"])
        defer { close(fd) }
        #expect(NodeAgentProcess.readLine(fd).count == 10_000)
    }

    @Test func endOfFileWithoutNewlineGivesWhatCame() {
        let fd = pipe(["withdrawn"])
        defer { close(fd) }
        #expect(String(decoding: NodeAgentProcess.readLine(fd), as: UTF8.self) == "withdrawn")
        let empty = pipe([])
        defer { close(empty) }
        #expect(NodeAgentProcess.readLine(empty).isEmpty)
    }
}
