import Foundation
import Testing

/// docs/DESIGN.md's module graph against Package.swift: the list of each module's direct dependencies must be
/// exactly the manifest's, and every module the drawing names must exist. (Read as text: the manifest's target
/// declarations and the design's list between its markers.)
@Suite struct DesignModuleGraphTests {
    static let root: String = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/", !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory.deleteLastPathComponent()
        }
        return directory.path
    }()

    @Test func theDesignsDependencyListIsPackageSwifts() throws {
        let manifest = try Self.manifestTargets(String(contentsOfFile: Self.root + "/Package.swift", encoding: .utf8))
        let design = try Self.designList(String(contentsOfFile: Self.root + "/docs/DESIGN.md", encoding: .utf8))
        #expect(!manifest.isEmpty && !design.isEmpty)
        for (module, dependencies) in manifest.sorted(by: { $0.key < $1.key }) {
            #expect(design[module] == dependencies, "docs/DESIGN.md, \(module): \(design[module].map { $0.sorted().description } ?? "missing"); Package.swift: \(dependencies.sorted())")
        }
        for module in design.keys where manifest[module] == nil {
            Issue.record("docs/DESIGN.md lists \(module), which Package.swift does not declare")
        }
    }

    @Test func everyModuleTheDrawingNamesExists() throws {
        let manifest = try Self.manifestTargets(String(contentsOfFile: Self.root + "/Package.swift", encoding: .utf8))
        let design = try String(contentsOfFile: Self.root + "/docs/DESIGN.md", encoding: .utf8)
        let drawing = try #require(design.range(of: "## Modules").map { design[$0.upperBound...] })
        let block = try #require(drawing.components(separatedBy: "```").dropFirst().first)
        var named: [String] = []
        for line in block.split(separator: "\n") {
            guard let branch = line.range(of: "─ ") else { continue }
            let rest = line[branch.upperBound...]
            let word = rest.prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            // "├─ Name  description": one module; "└─ A, B, C": a list of modules.
            if rest.dropFirst(word.count).hasPrefix(",") || rest.dropFirst(word.count).isEmpty {
                named += rest.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            } else {
                named.append(String(word))
            }
        }
        #expect(named.count > 10)
        for module in named { #expect(manifest[module] != nil, "the drawing names \(module), which Package.swift does not declare") }
    }

    /// Non-test targets of Package.swift and their dependencies on other targets (products of packages left out).
    static func manifestTargets(_ text: String) throws -> [String: Set<String>] {
        var targets: [String: Set<String>] = [:]
        var searchFrom = text.startIndex
        while let start = text.range(of: #"\.(target|executableTarget)\("#, options: .regularExpression, range: searchFrom..<text.endIndex) {
            let body = try #require(Self.balanced(text, from: text.index(before: start.upperBound)))
            searchFrom = body.upperBound
            let declaration = String(text[body])
            let name = try #require(declaration.firstMatch(of: /name: "([^"]+)"/)).1
            var dependencies: Set<String> = []
            if let list = declaration.range(of: "dependencies: [") {
                let listBody = try #require(Self.balanced(declaration, from: declaration.index(before: list.upperBound)))
                var inner = String(declaration[listBody])
                while let product = inner.range(of: ".product(") {
                    let call = try #require(Self.balanced(inner, from: inner.index(before: product.upperBound)))
                    inner.removeSubrange(product.lowerBound..<call.upperBound)
                }
                dependencies = Set(inner.matches(of: /"([^"]+)"/).map { String($0.1) })
            }
            targets[String(name)] = dependencies
        }
        return targets
    }

    /// The range from the bracket at `open` to its matching closing bracket (inclusive).
    static func balanced(_ text: String, from open: String.Index) -> Range<String.Index>? {
        let closing: Character = text[open] == "(" ? ")" : "]"
        var depth = 0
        var inString = false
        var index = open
        while index < text.endIndex {
            let character = text[index]
            if character == "\"" { inString.toggle() }
            if !inString {
                if character == text[open] { depth += 1 }
                if character == closing {
                    depth -= 1
                    if depth == 0 { return open..<text.index(after: index) }
                }
            }
            index = text.index(after: index)
        }
        return nil
    }

    /// The design's dependency list: `Module: A, B` lines (or `Module: -`) between its markers.
    static func designList(_ text: String) throws -> [String: Set<String>] {
        let start = try #require(text.range(of: "<!-- BEGIN MODULE DEPENDENCIES"))
        let end = try #require(text.range(of: "<!-- END MODULE DEPENDENCIES -->"))
        var list: [String: Set<String>] = [:]
        for line in text[start.upperBound..<end.lowerBound].split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, !line.hasPrefix("<!--"), !line.hasPrefix("```") else { continue }
            let module = parts[0].trimmingCharacters(in: .whitespaces)
            let names = parts[1].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && $0 != "-" }
            list[module] = Set(names)
        }
        return list
    }
}
