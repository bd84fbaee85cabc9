import Foundation

/// Process limits agents and the front-end need at scale (thousands of links).
public enum ResourceLimits {
    /// Raises the soft open-file limit to the hard limit.
    public static func raiseOpenFiles() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
