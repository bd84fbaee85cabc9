import Foundation

/// The real 3-node Slurm cluster of `scripts/slurm-cluster.sh` (slurmctld on this machine, one slurmd per
/// network namespace, nodes n1…n3 on bridge v13br0): started idempotently by the tests that use it.
enum SlurmCluster {
    static let nodes = ["n1", "n2", "n3"]

    /// Starts the cluster unless it runs; returns once its nodes are up.
    static func start() throws {
        let result = try CLI.run(program: "/bin/sh", [CLI.repositoryRoot + "/scripts/slurm-cluster.sh", "start"], timeout: .seconds(60))
        guard result.status == 0 else {
            throw CLIFailure(description: "scripts/slurm-cluster.sh start failed: \(result.stderr)")
        }
    }

    /// Runs `script` with /bin/sh inside a fresh `salloc` allocation of `nodes` nodes; `$VHPC` is the vhpc
    /// under test.
    static func inAllocation(nodes: Int = 3, _ script: String, environment: [String: String] = [:],
                             timeout: Duration = .seconds(120)) throws -> CLI.Result {
        try CLI.run(program: "/usr/bin/salloc", ["--nodes=\(nodes)", "--time=5", "/bin/sh", "-c", script],
                    environment: environment.merging(["VHPC": CLI.vhpc]) { new, _ in new }, timeout: timeout)
    }

    /// Steps and jobs of `job` still known to slurmctld (empty when the job left nothing).
    static func steps(ofJob job: String) throws -> String {
        try CLI.run(program: "/usr/bin/squeue", ["-h", "-s", "-j", job], timeout: .seconds(20)).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `vhpc-agent --role step` processes of any job still running on this machine (all "nodes" share its
    /// process table).
    static func agentProcesses() -> [String] {
        processes { $0.contains("vhpc-agent --role step") }
    }

    /// Processes whose command line (arguments joined by spaces) matches.
    static func processes(matching: (String) -> Bool) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard Int(entry) != nil, let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
            return matching(line) ? "\(entry): \(line)" : nil
        }
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    var description: String
}
