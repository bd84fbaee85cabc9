/// Positions in YAML text, counted the way libyaml counts them.
///
/// Lines break at `\n`, `\r`, `\r\n`, U+0085, U+2028 and U+2029; columns count Unicode scalars.
enum SourceText {
    /// The scalar offset of 1-based (`line`, `column`), or nil if the text has no such position.
    static func offset(ofLine line: Int, column: Int, in scalars: [Unicode.Scalar]) -> Int? {
        guard line >= 1, column >= 1 else { return nil }
        var currentLine = 1
        var index = 0
        while currentLine < line {
            guard index < scalars.count else { return nil }
            let scalar = scalars[index]
            index += 1
            if scalar == "\r", index < scalars.count, scalars[index] == "\n" { index += 1 }
            if isBreak(scalar) { currentLine += 1 }
        }
        let offset = index + column - 1
        for i in index..<min(offset, scalars.count) where isBreak(scalars[i]) { return nil }
        return offset <= scalars.count ? offset : nil
    }

    /// The 1-based line and column of the character at `offset` (counted in Characters).
    static func position(ofCharacterOffset offset: Int, in text: String) -> (line: Int, column: Int) {
        var line = 1, column = 1
        for character in text.prefix(offset) {
            if character.unicodeScalars.contains(where: isBreak) {
                line += 1
                column = 1
            } else {
                column += character.unicodeScalars.count
            }
        }
        return (line, column)
    }

    private static func isBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\n", "\r", "\u{85}", "\u{2028}", "\u{2029}": true
        default: false
        }
    }
}
