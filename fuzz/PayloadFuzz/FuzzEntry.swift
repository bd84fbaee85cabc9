import Foundation

/// The executable's entry point.
///
/// - Built by scripts/fuzz.sh (`-sanitize=fuzzer -DPAYLOAD_FUZZING`): hands control to libFuzzer's driver,
///   which calls ``PayloadFuzzer.run(_:)`` with each input. (libFuzzer's own `main` cannot be used: SwiftPM
///   links executables with their module's `main` renamed, so the module must define one.)
/// - Built plainly (`swift build`): replays corpus files or directories through the same checks, so a crash
///   reproduces without the fuzzer: `.build/debug/PayloadFuzz crash-…`;
///   `WireFuzz --write-seeds DIR` regenerates the seed corpus.
@main
struct FuzzEntry {
    static func main() throws {
        #if PAYLOAD_FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            PayloadFuzzer.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
        #else
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-seeds", arguments.count == 2 {
            try writeSeeds(to: arguments[1])
            return
        }
        var count = 0
        for path in arguments {
            for file in try files(at: path) {
                let data = try Data(contentsOf: URL(fileURLWithPath: file))
                data.withUnsafeBytes { PayloadFuzzer.run($0) }
                count += 1
            }
        }
        print("replayed \(count) inputs")
        #endif
    }

    static func writeSeeds(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let seeds = PayloadSeeds.seeds(for: PayloadFuzzer.target)
        for (name, bytes) in seeds {
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        print("wrote \(seeds.count) seeds to \(directory)")
    }

    static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 }
    }
}

#if PAYLOAD_FUZZING
/// `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))` from
/// libFuzzer (linked by `-sanitize=fuzzer`); its arguments are plain pointers and integers, passed the
/// same way by the Swift and C calling conventions.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif
