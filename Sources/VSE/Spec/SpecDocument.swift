import Foundation
import Yams

/// A spec file composed into a YAML node tree, with the problems found while composing.
///
/// Yams rejects a mapping with a duplicated key outright. To still report every other problem,
/// the first occurrence of a duplicated key is renamed in the text to a same-length placeholder made
/// of private-use characters (so no position moves), and composition is retried. Validation skips
/// placeholder keys (``ignoredKeys``); the duplicates are reported at the later occurrence.
struct SpecDocument {
    /// A problem with a 1-based position.
    struct Problem {
        var line: Int
        var column: Int
        var message: String
    }

    /// The root node; nil when the text is empty or could not be composed.
    var root: Node?
    /// Syntax and duplicate-key problems.
    var problems: [Problem] = []
    /// Placeholder keys standing for renamed duplicates.
    var ignoredKeys: Set<String> = []

    private struct Duplicate {
        var name: String
        var placeholder: String
        var firstMark: Position
    }

    /// A 1-based line and column (Yams's `Mark` cannot be made outside Yams).
    private struct Position: CustomStringConvertible {
        var line: Int
        var column: Int
        init(line: Int, column: Int) { self.line = line; self.column = column }
        init(_ mark: Mark) { self.init(line: mark.line, column: mark.column) }
        var description: String { "\(line):\(column)" }
    }

    private static let maxDuplicates = 64

    init(yaml: String) {
        var text = yaml
        var duplicates: [Duplicate] = []
        while true {
            do {
                root = try Yams.compose(yaml: text, .default, .default, .utf8)
                break
            } catch YamlError.duplicatedKeysInMapping(let names, let context) {
                var name = names.first ?? ""
                var mark = Position(context.mark)
                if Self.isAmbiguous(names) {
                    // Yams's choice among these follows a Dictionary's order: take the document's first.
                    switch MappingKeyScan.firstFinding(in: text) {
                    case .complexKey(let line, let column):
                        problems.append(Problem(line: line, column: column,
                                                message: "a mapping key must be a plain string, not a list or a mapping"))
                        return
                    case .repeatedKey(let repeated, let firstLine, let firstColumn, _, _):
                        name = repeated
                        mark = Position(line: firstLine, column: firstColumn)
                    case nil:
                        problems.append(Problem(line: 1, column: 1, message: "duplicate mapping keys that are not plain strings"))
                        return
                    }
                }
                let placeholder = Self.placeholder(length: name.unicodeScalars.count, index: duplicates.count)
                guard duplicates.count < Self.maxDuplicates, !name.isEmpty,
                      let renamed = Self.rename(in: text, at: mark, key: name, to: placeholder)
                else {
                    problems.append(Problem(line: mark.line, column: mark.column,
                                            message: "duplicate key '\(name)'"))
                    return
                }
                text = renamed
                duplicates.append(Duplicate(name: name, placeholder: placeholder, firstMark: mark))
            } catch {
                problems.append(Self.problem(from: error, yaml: text))
                return
            }
        }
        if let composed = root, let mark = Self.oversizedPart(of: composed) {
            // YAML aliases share nodes: a few hundred bytes can stand for billions of them ("billion
            // laughs"), which every walk of the tree would visit. Refuse before anything walks it.
            problems.append(Problem(line: mark.line, column: mark.column,
                                    message: "the YAML expands to more than \(Self.maxExpandedNodes) nodes through its aliases; refusing it"))
            root = nil
            return
        }
        ignoredKeys = Set(duplicates.map(\.placeholder))
        if let root { reportDuplicates(duplicates, in: root) }
    }

    /// Whether Yams's pick among duplicated keys `names` (its sorted list) depends on a Dictionary's order:
    /// its `<` is false both ways between a non-scalar key (named "<uncovertable>") and any other, and
    /// between two scalars with the same text and different tags (`1` and `"1"`).
    private static func isAmbiguous(_ names: [String]) -> Bool {
        names.contains("<uncovertable>") || Set(names).count != names.count
    }

    /// Most nodes a spec may expand to, aliases counted as many times as they are used (a real spec has a
    /// few hundred).
    static let maxExpandedNodes = 100_000

    /// Where the part of `root` that makes it expand beyond ``maxExpandedNodes`` starts (the top-level key
    /// whose value does, else the root), or nil when it does not. Stops counting at the limit.
    private static func oversizedPart(of root: Node) -> (line: Int, column: Int)? {
        var budget = maxExpandedNodes
        guard !withinBudget(root, &budget) else { return nil }
        if case .mapping(let mapping) = root {
            for (key, value) in mapping {
                var single = maxExpandedNodes
                if !withinBudget(value, &single), let mark = key.mark ?? root.mark { return (mark.line, mark.column) }
            }
        }
        return root.mark.map { ($0.line, $0.column) } ?? (1, 1)
    }

    /// Counts `node`'s expanded nodes against `budget`; false once it runs out.
    private static func withinBudget(_ node: Node, _ budget: inout Int) -> Bool {
        budget -= 1
        guard budget >= 0 else { return false }
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard withinBudget(key, &budget), withinBudget(value, &budget) else { return false }
            }
        case .sequence(let sequence):
            for element in sequence where !withinBudget(element, &budget) { return false }
        case .scalar, .alias:
            break
        }
        return true
    }

    /// For each renamed key, reports the next key of its mapping with the same name.
    private mutating func reportDuplicates(_ duplicates: [Duplicate], in root: Node) {
        let byPlaceholder = Dictionary(uniqueKeysWithValues: duplicates.map { ($0.placeholder, $0) })
        Self.forEachMapping(root) { mapping in
            let keys = mapping.map(\.key)
            for (index, key) in keys.enumerated() {
                guard let string = key.scalar?.string, let duplicate = byPlaceholder[string] else { continue }
                let later = keys[(index + 1)...].first { other in
                    guard let otherString = other.scalar?.string else { return false }
                    return otherString == duplicate.name || byPlaceholder[otherString]?.name == duplicate.name
                }
                let mark = later?.mark.map(Position.init) ?? duplicate.firstMark
                problems.append(Problem(
                    line: mark.line, column: mark.column,
                    message: "duplicate key '\(duplicate.name)' (previously defined at \(key.mark.map(Position.init) ?? duplicate.firstMark))"))
            }
        }
    }

    private static func forEachMapping(_ node: Node, _ body: (Node.Mapping) -> Void) {
        switch node {
        case .mapping(let mapping):
            body(mapping)
            for (key, value) in mapping {
                forEachMapping(key, body)
                forEachMapping(value, body)
            }
        case .sequence(let sequence):
            for element in sequence { forEachMapping(element, body) }
        case .scalar, .alias:
            break
        }
    }

    /// `length` private-use scalars, the first one varying with `index` so placeholders differ.
    private static func placeholder(length: Int, index: Int) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(Unicode.Scalar(0xE000 + UInt32(index))!)
        for _ in 1..<max(length, 1) { scalars.append(Unicode.Scalar(0xE000)!) }
        return String(scalars)
    }

    /// `text` with the key written at `mark` (plain or quoted) replaced by `replacement`, which has the
    /// same number of scalars; nil when the key is not written literally there.
    private static func rename(in text: String, at mark: Position, key: String, to replacement: String) -> String? {
        var scalars = Array(text.unicodeScalars)
        guard let start = SourceText.offset(ofLine: mark.line, column: mark.column, in: scalars) else { return nil }
        let keyScalars = Array(key.unicodeScalars)
        var keyStart = start
        if start < scalars.count, scalars[start] == "\"" || scalars[start] == "'" {
            let quote = scalars[start]
            let end = start + 1 + keyScalars.count
            guard end < scalars.count, scalars[end] == quote else { return nil }
            keyStart = start + 1
        }
        let keyEnd = keyStart + keyScalars.count
        guard keyEnd <= scalars.count, Array(scalars[keyStart..<keyEnd]) == keyScalars else { return nil }
        scalars.replaceSubrange(keyStart..<keyEnd, with: replacement.unicodeScalars)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    private static func problem(from error: Error, yaml: String) -> Problem {
        guard let yamlError = error as? YamlError else {
            return Problem(line: 1, column: 1, message: "cannot parse YAML: \(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at \(context.mark))" }
            return Problem(line: mark.line, column: mark.column, message: message)
        case .reader(let problem, let offset, _, _):
            let (line, column) = SourceText.position(ofCharacterOffset: offset ?? 0, in: yaml)
            return Problem(line: line, column: column, message: "cannot read YAML: \(problem)")
        default:
            return Problem(line: 1, column: 1, message: "cannot parse YAML: \(yamlError)")
        }
    }
}
