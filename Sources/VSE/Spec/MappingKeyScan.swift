import CYaml  // Yams's own libyaml (a dependency of Yams, linked with it)
import Foundation

/// A walk over libyaml's parse events that finds, in document order, the first mapping key a spec
/// cannot have: a key that is a sequence or mapping (a YAML "complex key"), or a plain key whose text
/// repeats an earlier key of the same mapping.
///
/// Yams reports duplicated keys by sorting them with `Node`'s `<`, which is not a total order: between a
/// scalar and a sequence, or between `1` and `"1"`, it is false both ways. With two such groups in one
/// mapping, which key (and which position) Yams names follows a `Dictionary`'s order, which differs from
/// one load to the next. ``SpecDocument`` asks this scan instead whenever Yams's answer is ambiguous, so
/// that loading a spec is deterministic.
enum MappingKeyScan {
    /// The first offending key, with 1-based positions.
    enum Finding: Equatable {
        /// A key that is a sequence or a mapping (directly or through an alias).
        case complexKey(line: Int, column: Int)
        /// A key whose text equals an earlier key's in the same mapping.
        case repeatedKey(name: String, firstLine: Int, firstColumn: Int, line: Int, column: Int)
    }

    /// The first offending key of `text`, nil when there is none or the text does not parse (Yams
    /// reports syntax errors itself).
    static func firstFinding(in text: String) -> Finding? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> Finding? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var walk = Walk()
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let finding = walk.handle(event) { return finding }
            }
        }
    }

    /// The walk's state: one frame per open collection, and what each anchor names.
    private struct Walk {
        struct Frame {
            var isMapping: Bool
            var expectingKey = true
            /// Keys seen so far in this mapping, with the position of their first occurrence.
            var keys: [String: (line: Int, column: Int)] = [:]
        }

        var frames: [Frame] = []
        /// Anchor name → the scalar's text, or nil for a sequence or mapping.
        var anchors: [String: String?] = [:]

        mutating func handle(_ event: yaml_event_t) -> Finding? {
            let line = Int(event.start_mark.line) + 1
            let column = Int(event.start_mark.column) + 1
            let atKey = frames.last.map { $0.isMapping && $0.expectingKey } ?? false
            switch event.type {
            case YAML_SCALAR_EVENT:
                let value = Self.string(event.data.scalar.value, length: event.data.scalar.length) ?? ""
                if let anchor = Self.string(event.data.scalar.anchor) { anchors[anchor] = .some(value) }
                if atKey, let finding = key(value, line: line, column: column) { return finding }
                completeNode()
            case YAML_ALIAS_EVENT:
                if atKey, let anchor = Self.string(event.data.alias.anchor), let target = anchors[anchor] {
                    guard let value = target else { return .complexKey(line: line, column: column) }
                    if let finding = key(value, line: line, column: column) { return finding }
                }
                completeNode()
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if atKey { return .complexKey(line: line, column: column) }
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let anchor = isMapping ? event.data.mapping_start.anchor : event.data.sequence_start.anchor
                if let anchor = Self.string(anchor) { anchors[anchor] = .some(nil) }
                frames.append(Frame(isMapping: isMapping))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                _ = frames.popLast()
                completeNode()
            default:
                break
            }
            return nil
        }

        /// Records a key of the innermost mapping; a finding when the mapping already has it.
        private mutating func key(_ name: String, line: Int, column: Int) -> Finding? {
            guard let index = frames.indices.last else { return nil }
            if let first = frames[index].keys[name] {
                return .repeatedKey(name: name, firstLine: first.line, firstColumn: first.column,
                                    line: line, column: column)
            }
            frames[index].keys[name] = (line, column)
            return nil
        }

        /// A node ended: in a mapping, keys and values alternate.
        private mutating func completeNode() {
            guard let index = frames.indices.last, frames[index].isMapping else { return }
            frames[index].expectingKey.toggle()
        }

        private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?, length: Int? = nil) -> String? {
            guard let pointer else { return nil }
            let count = length ?? strlen(UnsafeRawPointer(pointer).assumingMemoryBound(to: CChar.self))
            return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
        }
    }
}
