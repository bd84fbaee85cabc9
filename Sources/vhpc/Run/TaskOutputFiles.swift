import Control
import Foundation

/// Where task output goes with `-o/--output` and `-e/--error` (srun's file patterns): `%t` task rank, `%n`
/// node index in the job (from 0), `%N` node host name, `%j` job id, `%%` a percent sign. A pattern without
/// `%t`, `%n` or `%N` names one file every task writes to. Without `-e`, stderr goes where `-o` sends stdout.
/// Every file is opened (created or truncated, mode 0666 less the umask) before the job starts, so a bad
/// path is an error before anything runs.
final class TaskOutputFiles: Sendable {
    /// File descriptor per task for stdout and stderr.
    let stdout: [Int32]
    let stderr: [Int32]
    private let opened: [Int32]

    init(output: String?, error: String?, jobID: String, layout: TaskLayout, hosts: [String]) throws {
        var byPath: [String: Int32] = [:]
        var out: [Int32] = []
        var err: [Int32] = []
        func open(_ path: String, option: String) throws -> Int32 {
            if let fd = byPath[path] { return fd }
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0o666)
            guard fd >= 0 else {
                let reason = String(cString: strerror(errno))
                for fd in byPath.values { close(fd) }
                throw CLIErrors.fail("\(option) \(path): cannot open: \(reason)")
            }
            byPath[path] = fd
            return fd
        }
        let localName = ProcessInfo.processInfo.hostName
        for task in 0..<layout.tasks {
            let node = layout.node(ofRank: task)
            let host = node < hosts.count ? hosts[node] : localName
            let outFD = try output.map { try open(Self.expand($0, task: task, node: node, host: host, jobID: jobID), option: "--output") } ?? 1
            let errFD = try (error ?? output).map { try open(Self.expand($0, task: task, node: node, host: host, jobID: jobID),
                                                                  option: error == nil ? "--output" : "--error") } ?? 2
            out.append(outFD)
            err.append(errFD)
        }
        stdout = out
        stderr = err
        opened = Array(byPath.values)
    }

    /// The pattern with its `%` fields filled in; an unknown field is kept as written.
    static func expand(_ pattern: String, task: Int, node: Int, host: String, jobID: String) -> String {
        var result = ""
        var iterator = pattern.makeIterator()
        while let character = iterator.next() {
            guard character == "%" else { result.append(character); continue }
            switch iterator.next() {
            case "t": result += "\(task)"
            case "n": result += "\(node)"
            case "N": result += host
            case "j": result += jobID
            case "%": result += "%"
            case let other?: result += "%" + String(other)
            case nil: result += "%"
            }
        }
        return result
    }

    func closeAll() {
        for fd in opened { close(fd) }
    }
}
