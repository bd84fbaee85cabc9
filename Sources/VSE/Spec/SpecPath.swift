import Foundation

/// Lexical path arithmetic for spec paths (no symlink resolution, no file system access).
enum SpecPath {
    /// `path` if absolute, else `path` resolved against `directory`; `.`, `..` and `//` collapsed.
    static func absolute(_ path: String, relativeTo directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        return normalize(joined)
    }

    /// `path` made absolute against the process's current directory.
    static func absolute(_ path: String) -> String {
        absolute(path, relativeTo: FileManager.default.currentDirectoryPath)
    }

    /// Collapses `.`, `..` and repeated slashes of an absolute path; `..` at the root stays at the root.
    static func normalize(_ absolutePath: String) -> String {
        var parts: [Substring] = []
        for component in absolutePath.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory containing `absolutePath`.
    static func directory(of absolutePath: String) -> String {
        let normalized = normalize(absolutePath)
        guard let slash = normalized.lastIndex(of: "/"), slash != normalized.startIndex else { return "/" }
        return String(normalized[..<slash])
    }

    /// Whether any component of `path` is `..`.
    static func hasParentReference(_ path: String) -> Bool {
        path.split(separator: "/").contains("..")
    }
}
