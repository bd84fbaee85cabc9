/// Why a benchmark could not run or finish: one line naming the cause (the CLI prints it as `vhpc: …`).
public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
