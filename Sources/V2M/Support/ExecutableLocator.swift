import Foundation
import HostProcess

/// Finds programs on PATH (an explicit PATH can be passed, as tests do to simulate a missing binary).
public struct ExecutableLocator: Sendable {
    public var searchPath: String

    public init(searchPath: String? = nil) {
        self.searchPath = searchPath ?? ExecutableLookup.searchPath()
    }

    /// The absolute path of `name`, or nil (``ExecutableLookup`` over `searchPath`).
    public func find(_ name: String) -> String? { ExecutableLookup.resolve(name, path: searchPath) }

    /// The absolute path of `name`, or `V2MError.executableMissing`.
    public func require(_ name: String) throws(V2MError) -> String {
        guard let path = find(name) else { throw .executableMissing(name, searchPath: searchPath) }
        return path
    }
}
