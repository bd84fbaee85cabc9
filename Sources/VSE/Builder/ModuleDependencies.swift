/// A parsed `modules.dep`: module file → the module files it needs.
struct ModuleDependencies {
    private var dependencies: [String: [String]] = [:]
    private var fileByName: [String: String] = [:]

    init(modulesDep path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        self.init(text: text)
    }

    init(text: String) {
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let file = String(line[..<colon])
            let needs = line[line.index(after: colon)...].split(separator: " ").map(String.init)
            dependencies[file] = needs
            fileByName[Self.moduleName(of: file)] = file
        }
    }

    /// `kernel/drivers/virtio/virtio_mmio.ko` → `virtio_mmio` (dashes and underscores are equivalent).
    static func moduleName(of file: String) -> String {
        var name = Substring(file.split(separator: "/").last ?? "")
        for suffix in [".xz", ".zst", ".gz", ".ko"] where name.hasSuffix(suffix) {
            name = name.dropLast(suffix.count)
        }
        return name.replacingOccurrences(of: "-", with: "_")
    }

    func contains(_ module: String) -> Bool { fileByName[module.replacingOccurrences(of: "-", with: "_")] != nil }

    /// The module files for `modules` and everything they depend on (modules not in the tree are skipped).
    func closure(of modules: [String]) -> [String] {
        var result: [String] = []
        var seen: Set<String> = []
        var stack = modules.compactMap { fileByName[$0.replacingOccurrences(of: "-", with: "_")] }
        while let file = stack.popLast() {
            guard seen.insert(file).inserted else { continue }
            result.append(file)
            stack += dependencies[file] ?? []
        }
        return result.sorted()
    }
}
