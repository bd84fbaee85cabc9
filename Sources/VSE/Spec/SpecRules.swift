/// The lexical rules of spec values, as pure predicates and parsers.
enum SpecRules {
    /// `[a-z0-9-]+`, at most 63 characters, starting with a letter or digit.
    static func nameProblem(_ name: String) -> String? {
        if name.isEmpty { return "name must not be empty" }
        if !name.unicodeScalars.allSatisfy(isLowerAlphanumericOrDash) {
            return "invalid name '\(name)': use only lowercase letters, digits and '-'"
        }
        if name.unicodeScalars.count > SpecLimits.maxNameLength {
            return "name is \(name.unicodeScalars.count) characters long; the maximum is \(SpecLimits.maxNameLength)"
        }
        if name.hasPrefix("-") { return "invalid name '\(name)': must start with a letter or digit" }
        return nil
    }

    /// A Debian suite or codename such as `bookworm`, `sid`, `stable` or `bookworm-backports`.
    static func isValidRelease(_ release: String) -> Bool {
        let scalars = release.unicodeScalars
        guard let first = scalars.first, ("a"..."z").contains(first), scalars.count <= 32 else { return false }
        return scalars.allSatisfy(isLowerAlphanumericOrDash) && !release.hasSuffix("-")
    }

    /// Debian policy 5.6.1: `^[a-z0-9][a-z0-9+.-]+$`.
    static func isValidPackageName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard scalars.count >= 2, isLowerAlphanumeric(scalars[0]) else { return false }
        return scalars.dropFirst().allSatisfy { isLowerAlphanumeric($0) || $0 == "+" || $0 == "." || $0 == "-" }
    }

    /// A POSIX shell identifier: `^[A-Za-z_][A-Za-z0-9_]*$`.
    static func isShellIdentifier(_ key: String) -> Bool {
        let scalars = Array(key.unicodeScalars)
        guard let first = scalars.first, isASCIILetter(first) || first == "_" else { return false }
        return scalars.allSatisfy { isASCIILetter($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Octal permission bits: `"0644"`, `"755"`, `"0o600"`; nil when not octal.
    static func parseMode(_ text: String) -> UInt32? {
        var digits = Substring(text)
        if digits.hasPrefix("0o") || digits.hasPrefix("0O") { digits = digits.dropFirst(2) }
        guard !digits.isEmpty, digits.count <= 11,
              digits.unicodeScalars.allSatisfy({ ("0"..."7").contains($0) }) else { return nil }
        return UInt32(digits, radix: 8)
    }

    /// A mode as a spec writes it: `0644`.
    static func formatMode(_ mode: UInt32) -> String {
        let octal = String(mode, radix: 8)
        return octal.count >= 4 ? octal : String(repeating: "0", count: 4 - octal.count) + octal
    }

    private static func isLowerAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("0"..."9").contains(s)
    }

    private static func isLowerAlphanumericOrDash(_ s: Unicode.Scalar) -> Bool {
        isLowerAlphanumeric(s) || s == "-"
    }

    private static func isASCIILetter(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s)
    }
}
