import Foundation
import Yams

/// Checks of what the image is made from: name, base, kernel, packages, format.
extension SpecValidator {
    mutating func validateName(_ field: Field?) -> String? {
        guard let node = field?.value, let name = string(node, "name") else { return nil }
        if let problem = SpecRules.nameProblem(name) {
            report(problem, at: node)
            return nil
        }
        return name
    }

    mutating func validateBase(_ field: Field?) -> BaseSystem? {
        guard let node = field?.value, let text = string(node, "base") else { return nil }
        if text == "busybox" { return .busybox }
        if text == "debian" {
            report("base 'debian' needs a release, e.g. 'debian:bookworm'", at: node)
            return nil
        }
        if text.hasPrefix("debian:") {
            let release = String(text.dropFirst("debian:".count))
            guard SpecRules.isValidRelease(release) else {
                report("invalid Debian release '\(release)' in base; expected a suite or codename such as 'bookworm' or 'sid'", at: node)
                return nil
            }
            return .debian(release: release)
        }
        report("unsupported base '\(text)'; use 'busybox' or 'debian:<release>' (e.g. 'debian:bookworm')", at: node)
        return nil
    }

    /// A kernel package name, or a path (anything containing '/') to an existing kernel image.
    mutating func validateKernel(_ field: Field?) -> KernelSource? {
        guard let field else { return .default }
        guard let text = string(field.value, "kernel") else { return nil }
        if text.contains("/") {
            let path = SpecPath.absolute(text, relativeTo: baseDirectory)
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                report("kernel image '\(text)' does not exist (looked for \(path))", at: field.value)
                return nil
            }
            if isDirectory.boolValue {
                report("kernel image '\(text)' is a directory; give the path of the kernel file", at: field.value)
                return nil
            }
            return .path(path)
        }
        guard SpecRules.isValidPackageName(text) else {
            report("kernel '\(text)' is not a valid Debian package name; write a kernel image path with a '/' (e.g. './vmlinuz')", at: field.value)
            return nil
        }
        return .package(text)
    }

    mutating func validatePackages(_ field: Field?, base: BaseSystem?, baseField: Field?) -> [String]? {
        guard let field else { return [] }
        guard let items = stringList(field.value, "packages", element: "each package") else { return nil }
        var ok = true
        if base == .busybox, !items.isEmpty {
            let at = baseField?.value.mark.map { " (at \($0))" } ?? ""
            report("packages cannot be installed on base 'busybox'\(at), which has no package manager; remove 'packages' or use 'debian:<release>'", at: field.key)
            ok = false
        }
        for (name, node) in items where !SpecRules.isValidPackageName(name) {
            report("invalid Debian package name '\(name)'; package names match [a-z0-9][a-z0-9+.-]+", at: node)
            ok = false
        }
        return ok ? items.map(\.0) : nil
    }

    mutating func validateFormat(_ field: Field?) -> ImageFormat? {
        guard let field else { return .default }
        guard let text = string(field.value, "format") else { return nil }
        if let format = ImageFormat(rawValue: text) { return format }
        let names = ImageFormat.allCases.map(\.rawValue)
        var message = "unknown format '\(text)'; expected one of " + names.joined(separator: ", ")
        if let suggestion = KeySuggester.suggestion(for: text, among: names) { message += " (did you mean '\(suggestion)'?)" }
        report(message, at: field.value)
        return nil
    }
}
