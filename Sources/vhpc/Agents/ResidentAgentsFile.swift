import Control
import Foundation
import HostProcess
import JobHistory
import Launch
import VSE

/// Where the front-end keeps a Slurm allocation's resident agents (``ResidentAgents``):
/// `$VHPC_HOME/resident/slurm-<job>.json`, in a directory only its user can enter, the file itself mode 0600
/// (it holds the secret that authenticates front-ends to the agents), written whole or not at all, and read
/// only when it is this user's private file.
enum ResidentAgentsFile {
    static func path(allocation: String, environment: [String: String]) -> String {
        ResidentAgents.file(allocation: allocation, stateRoot: StateDirectory.resolve(environment: environment).root)
    }

    /// The directory of every allocation's state.
    static func directory(environment: [String: String]) -> String {
        (path(allocation: "-", environment: environment) as NSString).deletingLastPathComponent
    }

    /// The log of their step's srun, beside the state.
    static func logPath(allocation: String, environment: [String: String]) -> String {
        String(path(allocation: allocation, environment: environment).dropLast(".json".count)) + ".log"
    }

    /// The allocation's resident agents; nil when none were started, or the file is not this user's private file.
    static func load(allocation: String, environment: [String: String]) -> ResidentAgents? {
        let file = path(allocation: allocation, environment: environment)
        guard PrivateFile.isPrivate(file), let data = FileManager.default.contents(atPath: file) else { return nil }
        return try? JSONDecoder().decode(ResidentAgents.self, from: data)
    }

    /// Whether they are known to be gone: started here, and their srun no longer runs. (Started elsewhere, a
    /// `vhpc run` finds out by dialling them.)
    static func isStale(_ residents: ResidentAgents) -> Bool {
        residents.host == ProcessInfo.processInfo.hostName && !isRunningHere(residents)
    }

    /// Whether the srun holding their step runs on this machine (the same process, not a recycled pid).
    static func isRunningHere(_ residents: ResidentAgents) -> Bool {
        residents.host == ProcessInfo.processInfo.hostName && FrontEndLiveness.startTicks(of: residents.srunPID) == residents.srunStartTicks
    }

    /// Creates the state's private directory (before the log and the state are written there).
    static func prepareDirectory(environment: [String: String]) throws {
        let directory = directory(environment: environment)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw CLIErrors.fail("cannot create \(directory): \(error)")
        }
    }

    /// Writes the state (into the directory ``prepareDirectory(environment:)`` made).
    static func save(_ residents: ResidentAgents, environment: [String: String]) throws {
        do {
            try PrivateFile.replace(path(allocation: residents.allocation, environment: environment), with: Array(try JSONEncoder().encode(residents)))
        } catch {
            throw CLIErrors.fail("resident agents' state: \(error)")
        }
    }

    /// Removes the state (and log) of resident agents started here whose srun is gone: allocations that ended
    /// without `vhpc agents stop`.
    static func pruneStale(environment: [String: String]) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory(environment: environment))) ?? []
        where name.hasPrefix("slurm-") && name.hasSuffix(".json") {
            let allocation = String(name.dropFirst("slurm-".count).dropLast(".json".count))
            if let residents = load(allocation: allocation, environment: environment), isStale(residents) {
                remove(allocation: allocation, environment: environment)
            }
        }
    }

    /// Removes the state and the log.
    static func remove(allocation: String, environment: [String: String]) {
        unlink(path(allocation: allocation, environment: environment))
        unlink(logPath(allocation: allocation, environment: environment))
    }
}
