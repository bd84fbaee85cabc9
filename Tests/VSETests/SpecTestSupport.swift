import Foundation
import VSE

/// A scratch directory holding a spec's companion files; removed when released.
final class SpecFixture {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.path + "/vhpc-spec-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Writes `contents` to `relativePath` under the fixture directory and returns its absolute path.
    @discardableResult
    func write(_ relativePath: String, _ contents: String = "data\n") throws -> String {
        let path = directory + "/" + relativePath
        let parent = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func load(_ yaml: String) throws -> VSESpec {
        try SpecLoader.load(yaml: yaml, path: "spec.yaml", baseDirectory: directory)
    }

    /// The diagnostics `yaml` produces (empty when it is valid).
    func diagnostics(_ yaml: String) -> [SpecDiagnostic] {
        do {
            _ = try load(yaml)
            return []
        } catch let error as SpecValidationError {
            return error.diagnostics
        } catch {
            return [SpecDiagnostic(file: "?", line: -1, column: -1, message: "unexpected error \(error)")]
        }
    }
}

/// `line:column: message` of each diagnostic, for compact assertions.
func positions(_ diagnostics: [SpecDiagnostic]) -> [String] {
    diagnostics.map { "\($0.line):\($0.column)" }
}

/// A minimal valid spec prefix.
let minimalSpec = """
    name: demo
    base: debian:bookworm

    """
