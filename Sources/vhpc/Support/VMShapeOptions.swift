import ArgumentParser
import VSE

/// The shape of a VM, shared by `vhpc vm start` and `vhpc vse boot` (`vhpc run --vse` declares the same two
/// options itself and builds one): its virtual CPUs and memory (each the image's default when not given).
struct VMShapeOptions: ParsableArguments {
    @Option(help: "Virtual CPUs of each VM (default: the image's).") var vcpus: Int?
    @Option(help: ArgumentHelp("Memory of each VM, e.g. 512M or 2G, at least 32M (default: the image's).", valueName: "SIZE"))
    var memory: String?

    /// `--memory` in bytes (nil when not given).
    var memoryBytes: UInt64? { memory.flatMap(SizeParser.parseBytes) }

    func validate() throws {
        if let vcpus, vcpus < 1 { throw ValidationError("--vcpus must be at least 1 (got \(vcpus))") }
        if let memory {
            guard let bytes = SizeParser.parseBytes(memory) else { throw ValidationError("--memory '\(memory)' is not a size (e.g. 512M, 2G)") }
            guard bytes >= 32 << 20 else { throw ValidationError("--memory must be at least 32M (got \(memory))") }
        }
    }
}
