import Foundation
import Yams

/// Checks of what applies when the image is built and run: environment, setup, resources.
extension SpecValidator {
    static let resourceKeys = ["vcpus", "memory"]

    mutating func validateEnvironment(_ field: Field?) -> [String: String]? {
        guard let field else { return [:] }
        guard let mapping = mapping(field.value, "environment") else { return nil }
        var result: [String: String] = [:]
        var ok = true
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report("environment variable names must be plain words, found \(Self.describe(key))", at: key)
                ok = false
                continue
            }
            let name = scalar.string
            if ignoredKeys.contains(name) { continue }
            if !SpecRules.isShellIdentifier(name) {
                report("environment variable name '\(name)' is not a valid shell identifier ([A-Za-z_][A-Za-z0-9_]*)", at: key)
                ok = false
            }
            if let text = string(value, "the value of environment variable '\(name)'") {
                // The image keeps `NAME=value` lines (/etc/vhpc/environment): a newline would split one
                // variable into two, other control characters corrupt what tasks see.
                if let bad = text.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    report("the value of environment variable '\(name)' contains a control character (U+\(String(format: "%04X", bad.value)))", at: value)
                    ok = false
                    continue
                }
                result[name] = text
            } else {
                ok = false
            }
        }
        return ok ? result : nil
    }

    mutating func validateSetup(_ field: Field?) -> [String]? {
        guard let field else { return [] }
        guard let items = stringList(field.value, "setup", element: "each setup command") else { return nil }
        var ok = true
        for (command, node) in items where command.allSatisfy(\.isWhitespace) {
            report("setup command is empty", at: node)
            ok = false
        }
        return ok ? items.map(\.0) : nil
    }

    mutating func validateResources(_ field: Field?) -> Resources? {
        guard let field else { return .default }
        guard let mapping = mapping(field.value, "resources") else { return nil }
        let fields = fields(of: mapping, allowed: Self.resourceKeys, section: "resources")
        let vcpus = validateVCPUs(fields["vcpus"])
        let memory = validateMemory(fields["memory"])
        guard let vcpus, let memory else { return nil }
        return Resources(vcpus: vcpus, memoryBytes: memory)
    }

    private mutating func validateVCPUs(_ field: Field?) -> Int? {
        guard let field else { return Resources.default.vcpus }
        guard field.value.tagName == .int, case .scalar = field.value else {
            report("vcpus must be an integer, found \(Self.describe(field.value))", at: field.value)
            return nil
        }
        guard let count = field.value.int, SpecLimits.vcpus.contains(count) else {
            let text = field.value.scalar?.string ?? ""
            report("vcpus must be between \(SpecLimits.vcpus.lowerBound) and \(SpecLimits.vcpus.upperBound), found \(text)", at: field.value)
            return nil
        }
        return count
    }

    private mutating func validateMemory(_ field: Field?) -> UInt64? {
        guard let field else { return Resources.default.memoryBytes }
        guard let text = scalarText(field.value, "memory") else { return nil }
        guard let bytes = SizeParser.parseBytes(text) else {
            report("memory '\(text)' is not a size; write e.g. 512M, 2G or 1GiB", at: field.value)
            return nil
        }
        let limits = SpecLimits.memoryBytes
        if bytes == 0 {
            report("memory must be greater than zero", at: field.value)
            return nil
        }
        guard limits.contains(bytes) else {
            let bound = bytes < limits.lowerBound ? "at least \(limits.lowerBound >> 20)M" : "at most \(limits.upperBound >> 40)T"
            report("memory '\(text)' is out of range; it must be \(bound)", at: field.value)
            return nil
        }
        return bytes
    }
}
