import Crypto
import Foundation

/// The canonical form of a spec, and its hash.
extension VSESpec {
    /// This spec with packages sorted and deduplicated and files ordered by target.
    /// `sourcePath` is kept.
    public func normalized() -> VSESpec {
        var copy = self
        copy.packages = Array(Set(packages)).sorted()
        copy.files = files.sorted { ($0.target, $0.source, $0.mode) < ($1.target, $1.source, $1.mode) }
        return copy
    }

    /// Canonical JSON of what defines the image: sorted keys, defaults filled in, packages sorted
    /// and deduplicated, files ordered by target, environment sorted. `sourcePath` is excluded, and a
    /// file is represented by its source path (hashing file contents is the builder's job). Key order,
    /// comments and formatting of the YAML therefore do not change it.
    public func normalizedJSON() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers, arrays and dictionaries cannot fail.
        return (try? encoder.encode(CanonicalSpec(normalized()))) ?? Data()
    }

    /// Lowercase hex SHA-256 of ``normalizedJSON()``.
    public var specHash: String {
        SHA256.hash(data: normalizedJSON()).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// The encoded shape of ``VSESpec/normalizedJSON()``; `schema` changes whenever the shape does.
private struct CanonicalSpec: Encodable {
    struct File: Encodable {
        var source: String
        var target: String
        var mode: UInt32
    }

    struct Machine: Encodable {
        var vcpus: Int
        var memoryBytes: UInt64
    }

    var schema = 1
    var name: String
    var base: String
    var kernel: [String: String]
    var packages: [String]
    var files: [File]
    var environment: [String: String]
    var setup: [String]
    var format: String
    var resources: Machine

    init(_ spec: VSESpec) {
        name = spec.name
        base = spec.base.specString
        switch spec.kernel {
        case .package(let name): kernel = ["package": name]
        case .path(let path): kernel = ["path": path]
        }
        packages = spec.packages
        files = spec.files.map { File(source: $0.source, target: $0.target, mode: $0.mode) }
        environment = spec.environment
        setup = spec.setup
        format = spec.format.rawValue
        resources = Machine(vcpus: spec.resources.vcpus, memoryBytes: spec.resources.memoryBytes)
    }
}
