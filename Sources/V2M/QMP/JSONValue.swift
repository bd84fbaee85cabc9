import Foundation

/// A JSON value that is `Sendable` and `Equatable` (QMP payloads).
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses one JSON document.
    public static func parse(_ bytes: some Collection<UInt8>) throws -> JSONValue {
        let object = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        return JSONValue(any: object)
    }

    init(any: Any) {
        if type(of: any) == Bool.self, let b = any as? Bool {
            self = .bool(b)
            return
        }
        switch any {
        case let n as NSNumber where String(cString: n.objCType) == "c" || String(describing: type(of: n)).contains("Bool"):
            self = .bool(n.boolValue)
        case let n as NSNumber: self = .number(n.doubleValue)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(JSONValue.init(any:)))
        case let d as [String: Any]: self = .object(d.mapValues(JSONValue.init(any:)))
        default: self = .null
        }
    }

    var foundationObject: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let n): return n == n.rounded() && abs(n) < 1e15 ? Int(n) as Any : n as Any
        case .string(let s): return s
        case .array(let a): return a.map(\.foundationObject)
        case .object(let o): return o.mapValues(\.foundationObject)
        }
    }

    /// Compact serialization with sorted keys.
    public func serialized() -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: foundationObject, options: [.sortedKeys, .fragmentsAllowed])) ?? Data("null".utf8)
        return Array(data)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var numberValue: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    public var description: String { String(decoding: serialized(), as: UTF8.self) }
}
