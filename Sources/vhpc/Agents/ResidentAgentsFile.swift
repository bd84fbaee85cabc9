import Control
import Foundation
import JobHistory
import Launch
import VSE

/// Where the front-end keeps a Slurm allocation's resident agents (``ResidentAgents``):
/// `$VHPC_HOME/resident/slurm-<job>.json`, in a directory only its user can enter (the file holds the secret
/// that authenticates front-ends to the agents), written whole or not at all.
enum ResidentAgentsFile {
    static func path(allocation: String, environment: [String: String]) -> String {
        ResidentAgents.file(allocation: allocation, stateRoot: StateDirectory.resolve(environment: environment).root)
    }

    /// The allocation's resident agents, nil when none were started (or the file is unreadable).
    static func load(allocation: String, environment: [String: String]) -> ResidentAgents? {
        guard let data = FileManager.default.contents(atPath: path(allocation: allocation, environment: environment)) else { return nil }
        return try? JSONDecoder().decode(ResidentAgents.self, from: data)
    }

    /// Whether the srun holding their step still runs (the same process, not a recycled pid).
    static func isRunning(_ residents: ResidentAgents) -> Bool {
        FrontEndLiveness.startTicks(of: residents.srunPID) == residents.srunStartTicks
    }

    static func save(_ residents: ResidentAgents, environment: [String: String]) throws {
        let file = path(allocation: residents.allocation, environment: environment)
        let directory = (file as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
        } catch {
            throw CLIErrors.fail("cannot create \(directory): \(error)")
        }
        let data = try JSONEncoder().encode(residents)
        guard CacheFile.replace(file, with: data, permissions: 0o600) else { throw CLIErrors.fail("cannot write \(file)") }
    }

    static func remove(allocation: String, environment: [String: String]) {
        unlink(path(allocation: allocation, environment: environment))
    }
}
