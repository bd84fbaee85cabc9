import Foundation
import Yams

/// Walks a composed spec and collects every problem; builds the ``VSESpec`` only when there is none.
///
/// Each field check reports its own problems and returns nil on failure, so one bad field never hides
/// another. File checks (sources, kernel path) read the file system but never modify it.
struct SpecValidator {
    /// A key and its value in a mapping.
    struct Field {
        var key: Node
        var value: Node
    }

    /// The spec file as named by the caller (for diagnostics).
    let file: String
    /// Directory against which relative paths are resolved (absolute).
    let baseDirectory: String
    /// Placeholder keys of renamed duplicates, skipped silently.
    let ignoredKeys: Set<String>
    private(set) var diagnostics: [SpecDiagnostic] = []

    static let topLevelKeys = [
        "name", "base", "kernel", "packages", "files", "environment", "setup", "format", "resources",
    ]
    static let requiredKeys = ["name", "base"]

    init(file: String, baseDirectory: String, ignoredKeys: Set<String> = []) {
        self.file = file
        self.baseDirectory = baseDirectory
        self.ignoredKeys = ignoredKeys
    }

    /// The spec described by `root`, or nil when any problem was reported.
    mutating func validate(_ root: Node, sourcePath: String?) -> VSESpec? {
        guard case .mapping(let mapping) = root else {
            report("the top level of a spec must be a mapping with keys such as 'name' and 'base', found \(Self.describe(root))", at: root)
            return nil
        }
        let fields = fields(of: mapping, allowed: Self.topLevelKeys, section: nil)
        for key in Self.requiredKeys where fields[key] == nil {
            report("missing required key '\(key)'", at: root)
        }
        let name = validateName(fields["name"])
        let base = validateBase(fields["base"])
        let kernel = validateKernel(fields["kernel"])
        let packages = validatePackages(fields["packages"], base: base, baseField: fields["base"])
        let files = validateFiles(fields["files"])
        let environment = validateEnvironment(fields["environment"])
        let setup = validateSetup(fields["setup"])
        let format = validateFormat(fields["format"])
        let resources = validateResources(fields["resources"])
        guard diagnostics.isEmpty, let name, let base, let kernel, let packages, let files,
              let environment, let setup, let format, let resources else { return nil }
        return VSESpec(name: name, base: base, kernel: kernel, packages: packages, files: files,
                       environment: environment, setup: setup, format: format, resources: resources,
                       sourcePath: sourcePath)
    }

    // MARK: Reporting

    mutating func report(_ message: String, at node: Node) {
        report(message, at: node.mark)
    }

    mutating func report(_ message: String, at mark: Mark?) {
        diagnostics.append(SpecDiagnostic(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1,
                                          message: message))
    }

    // MARK: Structural helpers

    /// The fields of `mapping` by key; reports non-scalar and unknown keys (with a suggestion).
    /// `section` names the enclosing key for messages, e.g. `resources`.
    mutating func fields(of mapping: Node.Mapping, allowed: [String], section: String?) -> [String: Field] {
        var result: [String: Field] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report("keys must be plain words, found \(Self.describe(key))", at: key)
                continue
            }
            let name = scalar.string
            if ignoredKeys.contains(name) { continue }
            guard allowed.contains(name) else {
                let place = section.map { " in '\($0)'" } ?? ""
                var message = "unknown key '\(name)'\(place)"
                if let suggestion = KeySuggester.suggestion(for: name, among: allowed) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += "; valid keys are " + allowed.map { "'\($0)'" }.joined(separator: ", ")
                }
                report(message, at: key)
                continue
            }
            result[name] = Field(key: key, value: value)
        }
        return result
    }

    /// The mapping in `node`, or a report that `what` must be one.
    mutating func mapping(_ node: Node, _ what: String) -> Node.Mapping? {
        if case .mapping(let mapping) = node { return mapping }
        report("\(what) must be a mapping, found \(Self.describe(node))", at: node)
        return nil
    }

    /// The elements of the list in `node`, or a report that `what` must be one.
    mutating func sequence(_ node: Node, _ what: String) -> [Node]? {
        if case .sequence(let sequence) = node { return Array(sequence) }
        report("\(what) must be a list, found \(Self.describe(node))", at: node)
        return nil
    }

    /// The text of a string scalar, or a report that `what` must be a string.
    mutating func string(_ node: Node, _ what: String) -> String? {
        if case .scalar(let scalar) = node, node.tagName == .str { return scalar.string }
        var message = "\(what) must be a string, found \(Self.describe(node))"
        if case .scalar = node, node.tagName != .null { message += "; quote it to make it a string" }
        report(message, at: node)
        return nil
    }

    /// The text of any non-null scalar (for values such as `memory: 1024` or `mode: 0644`).
    mutating func scalarText(_ node: Node, _ what: String) -> String? {
        if case .scalar(let scalar) = node, node.tagName != .null { return scalar.string }
        report("\(what) must be a single value, found \(Self.describe(node))", at: node)
        return nil
    }

    /// A list of strings; every non-string element is reported.
    mutating func stringList(_ node: Node, _ what: String, element: String) -> [(String, Node)]? {
        guard let nodes = sequence(node, what) else { return nil }
        var result: [(String, Node)] = []
        var ok = true
        for item in nodes {
            if let text = string(item, element) { result.append((text, item)) } else { ok = false }
        }
        return ok ? result : nil
    }

    /// How a node reads in a message: `a list`, `an integer (5)`, `null`.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch node.tagName {
            case .str: return "a string ('\(scalar.string)')"
            case .int: return "an integer (\(scalar.string))"
            case .float: return "a number (\(scalar.string))"
            case .bool: return "a boolean (\(scalar.string))"
            case .null: return "nothing (null)"
            case .timestamp: return "a date (\(scalar.string))"
            default: return "a value of type \(node.tagName.rawValue) (\(scalar.string))"
            }
        }
    }
}
