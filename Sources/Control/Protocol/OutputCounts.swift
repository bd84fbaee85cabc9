/// How many output chunks a task's stdout and stderr carried in all, sent with its exit report: the front-end
/// counts a stream as ended once it has put that many in order, so a task's end costs one report up the tree
/// instead of three (an end-of-stream mark per stream, then the exit).
public struct OutputCounts: Codable, Sendable, Hashable {
    public var stdout: UInt64
    public var stderr: UInt64

    public init(stdout: UInt64, stderr: UInt64) {
        self.stdout = stdout
        self.stderr = stderr
    }
}
