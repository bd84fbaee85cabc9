import Foundation
/// Picks a launcher by name (`--launcher`).
public enum LauncherFactory {
    /// Launcher names `make(named:)` knows.
    public static let names = ["local", "ssh", "slurm", "pbs"]

    /// The launcher called `name`. 
    public static func make(named name: String) throws -> any Launcher {
        switch name {
        case "local":
            return LocalLauncher()
        case "ssh":
            return SSHLauncher()
        case "slurm":
            return try SlurmLauncher.installed()
        case "pbs":
            return PBSLauncher(localNames: ["localhost", ProcessInfo.processInfo.hostName])
        default:
            throw LaunchError(host: "-", command: name, reason: "unknown launcher '\(name)' (known: \(names.joined(separator: ", ")))")
        }
    }
}
