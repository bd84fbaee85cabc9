import Foundation

/// Reads a VSE spec from YAML and validates it completely before anything else happens.
///
/// Problems are collected, not thrown one at a time: a ``SpecValidationError`` lists every problem
/// found, each located as `FILE:LINE:COLUMN`.
public enum SpecLoader {
    /// Reads, parses and validates the spec at `path`.
    ///
    /// Relative paths inside the spec are resolved against the spec file's directory.
    /// - Throws: ``SpecValidationError`` listing every problem (including an unreadable file).
    public static func load(path: String) throws -> VSESpec {
        let absolutePath = SpecPath.absolute(path)
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: absolutePath))
        } catch {
            throw SpecValidationError(diagnostics: [
                SpecDiagnostic(file: path, line: 0, column: 0, message: "cannot read spec file: \(reason(for: error, path: absolutePath))"),
            ])
        }
        guard let yaml = String(data: data, encoding: .utf8) else {
            throw SpecValidationError(diagnostics: [
                SpecDiagnostic(file: path, line: 0, column: 0, message: "spec file is not valid UTF-8 text"),
            ])
        }
        return try load(yaml: yaml, path: path, baseDirectory: SpecPath.directory(of: absolutePath),
                        sourcePath: absolutePath)
    }

    /// Parses and validates `yaml` as if read from `path`, resolving relative paths against
    /// `baseDirectory`. `sourcePath` is `path` made absolute against the current directory.
    /// - Throws: ``SpecValidationError`` listing every problem.
    public static func load(yaml: String, path: String, baseDirectory: String) throws -> VSESpec {
        try load(yaml: yaml, path: path, baseDirectory: SpecPath.absolute(baseDirectory),
                 sourcePath: SpecPath.absolute(path))
    }

    private static func load(yaml: String, path: String, baseDirectory: String, sourcePath: String) throws -> VSESpec {
        let document = SpecDocument(yaml: yaml)
        var diagnostics = document.problems.map {
            SpecDiagnostic(file: path, line: $0.line, column: $0.column, message: $0.message)
        }
        var spec: VSESpec?
        if let root = document.root {
            var validator = SpecValidator(file: path, baseDirectory: baseDirectory, ignoredKeys: document.ignoredKeys)
            spec = validator.validate(root, sourcePath: sourcePath)
            diagnostics += validator.diagnostics
        } else if diagnostics.isEmpty {
            diagnostics.append(SpecDiagnostic(file: path, line: 1, column: 1,
                                              message: "spec is empty; it needs at least 'name' and 'base'"))
        }
        guard diagnostics.isEmpty, let spec else {
            throw SpecValidationError(diagnostics: sorted(diagnostics))
        }
        return spec
    }

    /// By position; problems at the same place keep the order they were found in.
    private static func sorted(_ diagnostics: [SpecDiagnostic]) -> [SpecDiagnostic] {
        diagnostics.enumerated().sorted { a, b in
            (a.element.line, a.element.column, a.offset) < (b.element.line, b.element.column, b.offset)
        }.map(\.element)
    }

    private static func reason(for error: Error, path: String) -> String {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return "no such file" }
        if isDirectory.boolValue { return "it is a directory" }
        return (error as NSError).localizedDescription
    }
}
