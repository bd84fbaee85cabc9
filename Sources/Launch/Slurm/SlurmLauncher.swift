import Foundation
import HostProcess

/// `--launcher slurm` as a ``Launcher``: one process on one node of the allocation, as a one-task job step
/// (`srun --nodes=1 --nodelist=HOST … --overlap`). vhpc starts its agents with ``SlurmStepSpawner`` (one step
/// for all nodes); this is the per-process form the Launcher protocol asks for.
public struct SlurmLauncher: Launcher {
    public var name: String { "slurm" }
    public let srun: String
    public let version: SrunCommand.Version
    /// Whether slurm.conf's task plugin binds CPUs (read once, not per launch).
    public let binds: Bool

    public init(srun: String, version: SrunCommand.Version, binds: Bool = SrunCommand.taskPluginBinds()) {
        self.srun = srun
        self.version = version
        self.binds = binds
    }

    /// The installed srun; throws a LaunchError when there is none. With a `versionCache`, srun runs for its
    /// version only the first time (and after Slurm is reinstalled).
    public static func installed(versionCache: SrunVersionCache? = nil) throws -> SlurmLauncher {
        guard let srun = ExecutableLookup.resolve("srun") else {
            throw LaunchError(host: "-", command: "srun", reason: "srun not found in PATH (is Slurm's client installed?)")
        }
        let found = versionCache.map { $0.version(of: srun) } ?? SrunCommand.installedVersion(srun: srun)
        guard let version = found else {
            throw LaunchError(host: "-", command: "\(srun) --version", reason: "cannot read Slurm's version")
        }
        return SlurmLauncher(srun: srun, version: version)
    }

    public func launch(_ request: LaunchRequest) async throws -> any LaunchedProcess {
        let arguments = SrunCommand.stepArguments(hosts: [request.host], version: version, killOnBadExit: false, binds: binds)
            + [request.executable] + request.arguments
        return try await LocalLauncher().launch(LaunchRequest(
            host: request.host, executable: srun, arguments: arguments, environment: request.environment,
            standardInput: request.standardInput))
    }
}
