import Foundation

/// Where vhpc keeps its state: image cache, kernels, VM records.
///
/// `$VHPC_HOME` if set; otherwise `/var/lib/vhpc` for root and `~/.local/share/vhpc` for other users.
public struct StateDirectory: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// The state directory for this process's environment and user.
    public static func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) -> StateDirectory {
        if let home = environment["VHPC_HOME"], !home.isEmpty {
            return StateDirectory(root: home)
        }
        if getuid() == 0 {
            return StateDirectory(root: "/var/lib/vhpc")
        }
        let userHome = environment["HOME"] ?? NSHomeDirectory()
        return StateDirectory(root: userHome + "/.local/share/vhpc")
    }

    public var images: String { root + "/images" }
    public var kernels: String { root + "/kernels" }
    public var vms: String { root + "/vms" }
    public var tmp: String { root + "/tmp" }

    /// Creates a directory (and parents) if missing.
    public func ensure(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
}
