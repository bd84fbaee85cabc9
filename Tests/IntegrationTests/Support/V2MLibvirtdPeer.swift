import Foundation
@testable import V2M

/// A second libvirtd on this host acting as another "host" — its own host UUID, state, pid file and
/// socket, in its own mount namespace — started by `scripts/libvirtd-peer.sh` (the script users run too).
/// `stop()` destroys the domains left on it and ends the daemon by its pid.
struct V2MLibvirtdPeer {
    let directory: String
    let uri: String
    let pid: Int32

    static var script: String { CLI.repositoryRoot + "/scripts/libvirtd-peer.sh" }

    struct StartFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the daemon with its state under `directory` (short: its socket path must fit a sockaddr_un).
    static func start(in directory: String) throws -> V2MLibvirtdPeer {
        let (status, output) = V2MLibvirtd.run([script, "start", directory])
        let lines = output.split(separator: "\n").map(String.init)
        guard status == 0, let uri = lines.last(where: { $0.hasPrefix("qemu+unix://") }),
              let text = try? String(contentsOfFile: directory + "/libvirtd.pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw StartFailed(description: "\(script) start \(directory) failed (\(status)): \(output)")
        }
        return V2MLibvirtdPeer(directory: directory, uri: uri, pid: pid)
    }

    /// Names of running vhpc domains on this daemon.
    func vhpcDomains() -> [String] { V2MLibvirtd.vhpcDomains(uri: uri) }

    /// Stops the daemon by its pid (the script first destroys the domains a failed test left on it).
    /// Returns true if the daemon process is gone.
    @discardableResult
    func stop() -> Bool {
        _ = V2MLibvirtd.run([Self.script, "stop", directory])
        if QEMUProcess.processExists(pid) {
            kill(pid, SIGKILL)
            usleep(200_000)
        }
        return !QEMUProcess.processExists(pid)
    }
}
