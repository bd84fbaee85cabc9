/// Every problem found in a spec, in file order.
public struct SpecValidationError: Error, Sendable, CustomStringConvertible {
    /// The problems, sorted by line then column.
    public var diagnostics: [SpecDiagnostic]

    public init(diagnostics: [SpecDiagnostic]) {
        self.diagnostics = diagnostics
    }

    /// One diagnostic per line.
    public var description: String {
        diagnostics.map(\.description).joined(separator: "\n")
    }
}
