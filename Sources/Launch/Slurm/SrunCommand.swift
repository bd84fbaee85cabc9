import Foundation

/// The `srun` command lines vhpc uses (pure: tested without Slurm).
public enum SrunCommand {
    /// Slurm's version as `srun --version` prints it (`slurm 22.05.8`, `slurm-wlm 23.11.4`).
    public struct Version: Sendable, Hashable, Comparable {
        public var major: Int
        public var minor: Int

        public init(major: Int, minor: Int) {
            self.major = major
            self.minor = minor
        }

        public static func < (a: Version, b: Version) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

        /// Parses `srun --version` output; nil if it names no version.
        public static func parse(_ output: String) -> Version? {
            for word in output.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
                let parts = word.split(separator: ".")
                if parts.count >= 2, let major = Int(parts[0]), let minor = Int(parts[1]) { return Version(major: major, minor: minor) }
            }
            return nil
        }
    }

    /// The options that start one agent per node as one job step, as Open MPI's and hydra's Slurm launchers
    /// do: one task per node, no MPI plugin, no CPU binding (the agent's tasks choose their own), and a step
    /// that shares the nodes with the steps started later (`--overlap` from 20.11, `--external-launcher` from
    /// 23.11). `--kill-on-bad-exit` follows vhpc's failure policy: under `abort` Slurm may end the other agents
    /// as soon as one dies; under `continue` it must not (vhpc keeps the job going on the surviving nodes).
    /// The step's stdin carries only the agents' configuration (`--input=all`, then end of file); task data
    /// never goes through srun's stdio.
    /// `binds`: the cluster's task plugin binds CPUs (with `TaskPlugin=task/none` srun prints a warning for
    /// every `--cpu-bind`, and there is nothing to turn off).
    /// `jobName` names the step in `squeue -s` and sacct (`vhpc-agents`; resident agents' `vhpc-resident`).
    public static func stepArguments(hosts: [String], version: Version, killOnBadExit: Bool, binds: Bool = true,
                                     jobName: String = "vhpc-agents") -> [String] {
        var arguments = [
            "--nodes=\(hosts.count)", "--ntasks=\(hosts.count)", "--ntasks-per-node=1",
            "--nodelist=\(hosts.joined(separator: ","))", "--mpi=none",
        ]
        if binds { arguments.append("--cpu-bind=none") }
        arguments += ["--kill-on-bad-exit=\(killOnBadExit ? 1 : 0)", "--input=all", "--job-name=\(jobName)"]
        if version >= Version(major: 23, minor: 11) {
            arguments.append("--external-launcher")
        } else if version >= Version(major: 20, minor: 11) {
            arguments.append("--overlap")
        }
        return arguments
    }

    /// Whether the task plugin of the local slurm.conf (`SLURM_CONF`, else /etc/slurm/slurm.conf) binds CPUs:
    /// false only when it says `TaskPlugin=task/none`; true when unknown (configless clusters).
    public static func taskPluginBinds(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        let path = environment["SLURM_CONF"] ?? "/etc/slurm/slurm.conf"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return true }
        return taskPluginBinds(configuration: text)
    }

    /// `taskPluginBinds` for the text of a slurm.conf.
    public static func taskPluginBinds(configuration text: String) -> Bool {
        for line in text.split(separator: "\n") {
            let setting = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let parts = setting.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0].lowercased() == "taskplugin" { return parts[1] != "task/none" }
        }
        return true
    }

    /// Runs `srun --version`; nil if srun cannot be run.
    public static func installedVersion(srun: String) -> Version? {
        CommandOutput.stdout(of: srun, ["--version"], requireSuccess: false).flatMap(Version.parse)
    }
}
