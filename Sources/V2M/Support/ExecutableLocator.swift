import Foundation

/// Finds programs on PATH (an explicit PATH can be passed, as tests do to simulate a missing binary).
public struct ExecutableLocator: Sendable {
    public var searchPath: String

    public init(searchPath: String? = nil) {
        self.searchPath = searchPath ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    }

    /// The absolute path of `name`, or nil.
    public func find(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for directory in searchPath.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The absolute path of `name`, or `V2MError.executableMissing`.
    public func require(_ name: String) throws(V2MError) -> String {
        guard let path = find(name) else { throw .executableMissing(name, searchPath: searchPath) }
        return path
    }
}
