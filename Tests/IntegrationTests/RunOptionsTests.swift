import Foundation
import Testing

/// `vhpc run` options as srun and mpirun users type them.
@Suite struct RunOptionsTests {
    @Test func attachedValuesLongFormsAndNoSeparatorWork() throws {
        let attached = try CLI.run(["run", "-N2", "-n4", "-l", "--", "sh", "-c", "echo $VHPC_RANK/$VHPC_SIZE"])
        #expect(attached.status == 0, "\(attached.stderr)")
        #expect(Set(attached.stdout.split(separator: "\n")) == ["0: 0/4", "1: 1/4", "2: 2/4", "3: 3/4"])
        let long = try CLI.run(["run", "--nodes", "2", "--ntasks", "2", "sh", "-c", "echo $VHPC_NODE"])
        #expect(long.status == 0, "\(long.stderr)")
        #expect(long.stdout.split(separator: "\n").sorted() == ["0", "1"])
        // The program's own options stay the program's.
        let passthrough = try CLI.run(["run", "-N1", "sh", "-c", "echo \"$0 $1\"", "-x", "--nodes"])
        #expect(passthrough.stdout == "-x --nodes\n", "\(passthrough.stdout) \(passthrough.stderr)")
    }

    @Test func dashXExportsOrSetsAVariableAsMpirunDoes() throws {
        let result = try CLI.run(["run", "-N1", "--export", "NONE", "-x", "FOO=bar baz", "-x", "VHPCTEST_X", "--",
                                  "/bin/sh", "-c", "echo \"$FOO/$VHPCTEST_X/$VHPCTEST_Y\""],
                                 environment: ["VHPCTEST_X": "yes", "VHPCTEST_Y": "not exported"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "bar baz/yes/\n")
        let bad = try CLI.run(["run", "-N1", "-x", "1BAD", "--", "true"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("-x: '1BAD'"), "\(bad.stderr)")
    }

    @Test func helpReadsLikeSrunsWithEnvironmentAndExitCodes() throws {
        let help = try CLI.run(["run", "--help"]).stdout
        #expect(help.contains("USAGE: vhpc run [-N NODES]"), "\(help)")
        #expect(help.contains("TASK ENVIRONMENT: VHPC_RANK"))
        #expect(help.contains("EXIT CODE:"))
        #expect(help.contains("STDIN AND OUTPUT:"))
    }

    /// `vhpc run` is parsed with `run` as the parser's root unless a word the parser answers itself (help,
    /// version) is on the line: both ways give the program its own words and the same usage errors.
    @Test func theParsersOwnWordsAfterTheProgramAreTheProgramsAndErrorsReadTheSame() throws {
        let words = try CLI.run(["run", "-N1", "--", "echo", "-h", "--version", "--help"])
        #expect(words.status == 0 && words.stdout == "-h --version --help\n", "\(words.stdout) \(words.stderr)")
        let plain = try CLI.run(["run", "-N", "x", "--", "echo", "hi"])
        let viaRoot = try CLI.run(["run", "-N", "x", "--", "echo", "--help"])
        #expect(plain.status == 64 && viaRoot.status == 64, "\(plain.stderr) \(viaRoot.stderr)")
        #expect(plain.stderr == "vhpc: The value 'x' is invalid for '-N <nodes>'\n", "\(plain.stderr)")
        #expect(viaRoot.stderr == plain.stderr)
    }

    @Test func hostfileSlotsAreTasksOnThatHost() throws {
        let file = NSTemporaryDirectory() + "vhpc-hostfile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try "localhost slots=2\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try CLI.run(["run", "--hostfile", file, "-l", "--", "sh", "-c", "echo node=$VHPC_NODE size=$VHPC_SIZE"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").sorted() == ["0: node=0 size=2", "1: node=0 size=2"])
        try "localhost slots=2\n127.0.0.1\n".write(toFile: file, atomically: true, encoding: .utf8)
        let uneven = try CLI.run(["run", "--hostfile", file, "--", "true"])
        #expect(uneven.status != 0)
        #expect(uneven.stderr.contains("hosts have different slot counts (localhost: 2, 127.0.0.1: 1)"), "\(uneven.stderr)")
    }

    @Test func anUnknownOptionIsAnErrorNamingItNeverAProgram() throws {
        let result = try CLI.run(["run", "-N", "1", "--bogus-option", "3", "--", "true"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("unknown option '--bogus-option'"), "\(result.stderr)")
        #expect(!result.stderr.contains("command not found"))
    }

    @Test func outputPatternsWriteOneFilePerTaskAndErrorFollowsOutput() throws {
        let directory = NSTemporaryDirectory() + "vhpc-output-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let result = try CLI.run(["run", "-N", "2", "-n", "3", "-o", directory + "/out-%t-%n.txt", "-J", "outputs", "--",
                                  "sh", "-c", "echo out $VHPC_RANK; echo err $VHPC_RANK >&2"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        #expect(files == ["out-0-0.txt", "out-1-0.txt", "out-2-1.txt"])
        for (rank, file) in files.enumerated() {
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            #expect(Set(text.split(separator: "\n")) == ["out \(rank)", "err \(rank)"], "\(file): \(text)")
        }
        let separate = try CLI.run(["run", "-N", "2", "-o", directory + "/all.out", "-e", directory + "/err-%t", "--",
                                    "sh", "-c", "echo o$VHPC_RANK; echo e$VHPC_RANK >&2"])
        #expect(separate.status == 0)
        #expect(try String(contentsOfFile: directory + "/all.out", encoding: .utf8).split(separator: "\n").sorted() == ["o0", "o1"])
        #expect(try String(contentsOfFile: directory + "/err-1", encoding: .utf8) == "e1\n")
        let bad = try CLI.run(["run", "-N", "1", "-o", "/nonexistent-dir/x-%t", "--", "true"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--output /nonexistent-dir/x-0: cannot open"), "\(bad.stderr)")
    }
}

extension RunOptionsTests {
    /// Issue 16's typed CLI: one duration syntax for every option that takes one, typed choices refused by
    /// the parser naming the option and what it takes, and every usage error on one line.
    @Test func durationsAndChoicesAreTypedAndUsageErrorsAreOneLine() throws {
        let ok = try CLI.run(["run", "-N", "2", "--heartbeat", "0.5", "--kill-wait", "500ms", "--handshake-timeout", "1m",
                              "--on-failure", "continue", "--mpi", "none", "--", "echo", "ok"])
        #expect(ok.status == 0 && ok.stdout == "ok\nok\n", "\(ok.stdout)\n\(ok.stderr)")
        let bad: [([String], String)] = [
            (["--heartbeat", "2x"], "vhpc: The value '2x' is invalid for '--heartbeat <DURATION>'"),
            (["--on-failure", "maybe"], "vhpc: The value 'maybe' is invalid for '--on-failure <on-failure>'. Please provide one of 'abort' and 'continue'."),
            (["--launcher", "nope"], "vhpc: The value 'nope' is invalid for '--launcher <launcher>'. Please provide one of 'local', 'ssh', 'slurm' or 'pbs'."),
            (["--kill-wait", "forever"], "vhpc: The value 'forever' is invalid for '--kill-wait <DURATION>'"),
        ]
        for (options, message) in bad {
            let result = try CLI.run(["run", "-N", "1"] + options + ["--", "true"])
            #expect(result.status == 64, "\(options): \(result.stderr)")
            #expect(result.stderr.hasPrefix(message) && result.stderr.split(separator: "\n").count == 1, "\(options): \(result.stderr)")
        }
        // The same duration syntax for VM commands' time-outs.
        let boot = try CLI.run(["vse", "boot", "tiny", "--timeout", "soon", "--", "true"])
        #expect(boot.status == 64 && boot.stderr.hasPrefix("vhpc: The value 'soon' is invalid for '--timeout <DURATION>'"), "\(boot.stderr)")
    }
}
