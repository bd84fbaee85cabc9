import Foundation

/// Publishes a finished directory into a cache by `rename(2)`: readers see all of it or nothing.
///
/// If another process published the same key first, ours is discarded and theirs kept (both are
/// built from identical inputs), so concurrent builds of one spec never corrupt each other.
public enum AtomicRename {
    /// Returns true if our directory was published, false if an existing entry won.
    @discardableResult
    public static func publish(_ source: String, to destination: String) throws -> Bool {
        if rename(source, destination) == 0 { return true }
        let error = errno
        if error == EEXIST || error == ENOTEMPTY {
            try? FileManager.default.removeItem(atPath: source)
            return false
        }
        throw CocoaError(.fileWriteUnknown, userInfo: [
            NSFilePathErrorKey: destination,
            NSLocalizedDescriptionKey: "rename \(source) -> \(destination): \(String(cString: strerror(error)))",
        ])
    }
}

/// A uniquely named scratch directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(in parent: String, prefix: String) throws {
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        var template = Array("\(parent)/.\(prefix)-\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: parent])
        }
        path = String(cString: made)
    }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
