import Foundation
import Testing
import VSE

/// Runaway input in a spec (issue 20, finding 7): an alias bomb, device and FIFO sources, control
/// characters in environment values. Each is one diagnostic with its position, found fast.
@Suite(.timeLimit(.minutes(1))) struct SpecInputBoundsTests {
    let fixture: SpecFixture

    init() throws {
        fixture = try SpecFixture()
    }

    /// The 446-byte "billion laughs": 9 levels of 9 aliases, 9⁹ strings once expanded. It used to take
    /// more than 300 s; now it is refused at the key that expands, in milliseconds.
    @Test func anAliasBombIsRefusedFast() throws {
        var yaml = minimalSpec + "x-bomb:\n  a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
        let levels = Array("abcdefghi")
        for index in 1..<levels.count {
            let previous = levels[index - 1]
            yaml += "  \(levels[index]): &\(levels[index]) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ",") + "]\n"
        }
        let started = ContinuousClock.now
        let diagnostics = fixture.diagnostics(yaml)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(5), "took \(elapsed)")
        #expect(diagnostics.count == 1, "\(diagnostics)")
        #expect(diagnostics.first?.line == 3 && diagnostics.first?.column == 1, "\(diagnostics)")
        #expect(diagnostics.first?.message.contains("expands to more than 100000 nodes") == true, "\(diagnostics)")
    }

    @Test func ordinaryAliasesStillWork() throws {
        try fixture.write("a.txt")
        let spec = try fixture.load(minimalSpec + """
        files:
          - &entry {source: a.txt, target: /opt/a, mode: "0600"}
        environment: &env {A: "1"}
        """)
        #expect(spec.files.count == 1 && spec.environment == ["A": "1"])
    }

    @Test func aDeviceOrFIFOSourceIsRefusedWithItsPosition() throws {
        let fifo = fixture.directory + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        for source in ["/dev/zero", "pipe"] {
            let diagnostics = fixture.diagnostics(minimalSpec + "files:\n  - {source: \(source), target: /opt/x}\n")
            #expect(diagnostics.count == 1, "\(diagnostics)")
            #expect(diagnostics.first.map { "\($0.line):\($0.column)" } == "4:14", "\(diagnostics)")
            #expect(diagnostics.first?.message == "source '\(source)' is not a regular file (a device, FIFO or socket)")
        }
    }

    @Test func controlCharactersInEnvironmentValuesAreRefused() throws {
        let diagnostics = fixture.diagnostics(minimalSpec + "environment:\n  GOOD: fine\n  BAD: \"one\\ntwo\"\n")
        #expect(diagnostics.count == 1, "\(diagnostics)")
        #expect(diagnostics.first.map { "\($0.line):\($0.column)" } == "5:8", "\(diagnostics)")
        #expect(diagnostics.first?.message == "the value of environment variable 'BAD' contains a control character (U+000A)")
    }
}
