/// One problem found in a spec, located in its file.
public struct SpecDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The spec file as named by the caller.
    public var file: String
    /// 1-based line; 0 when the problem concerns the whole file (e.g. it cannot be read).
    public var line: Int
    /// 1-based column in Unicode scalars; 0 when the problem concerns the whole file.
    public var column: Int
    /// What is wrong, and where possible how to fix it.
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `FILE:LINE:COLUMN: message`, or `FILE: message` for whole-file problems.
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
