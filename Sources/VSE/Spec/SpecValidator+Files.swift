import Foundation
import Yams

/// Checks of the host files copied into the image.
///
/// Sources must be regular files (symbolic links are followed); directories are rejected — list
/// their files one by one.
extension SpecValidator {
    static let fileKeys = ["source", "target", "mode"]

    mutating func validateFiles(_ field: Field?) -> [FileEntry]? {
        guard let field else { return [] }
        guard let items = sequence(field.value, "files") else { return nil }
        var entries: [FileEntry] = []
        var ok = true
        var targets: [String: Node] = [:]
        for item in items {
            guard let entry = fileEntry(item) else {
                ok = false
                continue
            }
            if let first = targets[entry.target.path] {
                let at = first.mark.map { " (first at \($0))" } ?? ""
                report("duplicate file target '\(entry.target.path)'\(at)", at: entry.target.node)
                ok = false
                continue
            }
            targets[entry.target.path] = entry.target.node
            entries.append(FileEntry(source: entry.source, target: entry.target.path, mode: entry.mode))
        }
        return ok ? entries : nil
    }

    private mutating func fileEntry(_ node: Node) -> (source: String, target: (path: String, node: Node), mode: UInt32)? {
        guard let mapping = mapping(node, "each entry of 'files'") else { return nil }
        let fields = fields(of: mapping, allowed: Self.fileKeys, section: "files")
        for key in ["source", "target"] where fields[key] == nil {
            report("file entry is missing required key '\(key)'", at: node)
        }
        let source = fields["source"].flatMap { fileSource($0.value) }
        let target = fields["target"].flatMap { fileTarget($0.value) }
        let mode = fileMode(fields["mode"])
        guard let source, let target, let mode else { return nil }
        return (source, (target, fields["target"]!.value), mode)
    }

    private mutating func fileSource(_ node: Node) -> String? {
        guard let text = string(node, "source") else { return nil }
        guard !text.isEmpty else {
            report("source must not be empty", at: node)
            return nil
        }
        let path = SpecPath.absolute(text, relativeTo: baseDirectory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            report("source file '\(text)' does not exist (looked for \(path))", at: node)
            return nil
        }
        if isDirectory.boolValue {
            report("source '\(text)' is a directory; directories are not supported, list each file", at: node)
            return nil
        }
        // A device (/dev/zero), FIFO or socket would hang or fill the build: only regular files are copied.
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            report("source '\(text)' is not a regular file (a device, FIFO or socket)", at: node)
            return nil
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            report("source file '\(text)' is not readable", at: node)
            return nil
        }
        return path
    }

    private mutating func fileTarget(_ node: Node) -> String? {
        guard let text = string(node, "target") else { return nil }
        guard text.hasPrefix("/") else {
            report("target '\(text)' must be an absolute path in the guest (start with '/')", at: node)
            return nil
        }
        guard !SpecPath.hasParentReference(text) else {
            report("target '\(text)' must not contain '..'", at: node)
            return nil
        }
        guard !text.hasSuffix("/"), !text.unicodeScalars.contains("\0") else {
            report("target '\(text)' must name a file, not a directory", at: node)
            return nil
        }
        return SpecPath.normalize(text)
    }

    private mutating func fileMode(_ field: Field?) -> UInt32? {
        guard let field else { return FileEntry.defaultMode }
        guard let text = scalarText(field.value, "mode") else { return nil }
        guard let mode = SpecRules.parseMode(text) else {
            report("mode '\(text)' is not an octal permission such as \"0644\" or \"755\"", at: field.value)
            return nil
        }
        guard mode <= SpecLimits.maxMode else {
            report("mode '\(text)' is larger than 07777", at: field.value)
            return nil
        }
        return mode
    }
}
