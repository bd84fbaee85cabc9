import Foundation
import Testing

/// `--launcher pbs` (chosen by `PBS_JOBID`): hosts and slots from a `PBS_NODEFILE`, agents on other hosts over
/// real OpenSSH (sshd in network namespaces), the nodefile's entry for this machine started locally. No PBS
/// server is packaged for Debian 12: the environment a PBS job would have is given by hand.
@Suite(.serialized, .timeLimit(.minutes(3))) struct PBSRunTests {
    @Test func nodefileHostsAndSlotsWithThisMachineStartedLocally() async throws {
        try await NetNSHosts.withHosts(count: 2) { cluster in
            let directory = CLI.stateDirectory + "/pbs-\(getpid())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let nodefile = directory + "/nodefile"
            let me = ProcessInfo.processInfo.hostName
            try "node01\nnode01\nnode02\nnode02\n\(me)\n".write(toFile: nodefile, atomically: true, encoding: .utf8)
            let ownNetwork = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
            let result = try CLI.run(
                ["run", "-l", "--mpi", "none", "--",
                 "sh", "-c", "echo \"net=$(readlink /proc/self/ns/net) ssh=${SSH_CONNECTION:+yes} on=$(ip -o -4 addr show | grep -o 'inet 10[.0-9]*' | head -1)\""],
                environment: ["VHPC_SSH_CONFIG": cluster.clientConfig, "PBS_JOBID": "4242.pbs-test", "PBS_NODEFILE": nodefile],
                timeout: .seconds(90))
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            #expect(result.stderr.contains("inside PBS job 4242.pbs-test: using --launcher pbs"), "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n").map(String.init).sorted()
            // Five slots: tasks 0-1 on node01, 2-3 on node02 (over ssh), 4 here (no ssh, this network namespace).
            #expect(lines.count == 5, "\(result.stdout)\nstderr: \(result.stderr)")
            for (task, host) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
                let line = lines.first { $0.hasPrefix("\(task): ") } ?? ""
                #expect(line.hasSuffix("ssh=yes on=inet \(cluster.hosts[host].address)"), "task \(task): \(line)")
                #expect(!line.contains("net=\(ownNetwork) "), "task \(task) ran here: \(line)")
            }
            let local = lines.first { $0.hasPrefix("4: ") } ?? ""
            #expect(local.hasPrefix("4: net=\(ownNetwork) ssh= "), "\(local)\nstderr: \(result.stderr)")
        }
    }

    @Test func badNodefilesAreOneClearError() throws {
        let missing = try CLI.run(["run", "--", "true"], environment: ["PBS_JOBID": "7.pbs", "PBS_NODEFILE": "/nonexistent/nodefile"])
        #expect(missing.status != 0)
        #expect(missing.stderr == "vhpc: inside PBS job 7.pbs: using --launcher pbs (--launcher local runs on this machine only)\nvhpc: PBS job 7.pbs: cannot read PBS_NODEFILE /nonexistent/nodefile\n", "\(missing.stderr)")
        let empty = CLI.stateDirectory + "/pbs-empty-\(getpid())"
        try "\n# nothing\n".write(toFile: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let none = try CLI.run(["run", "--launcher", "pbs", "--", "true"], environment: ["PBS_JOBID": "7.pbs", "PBS_NODEFILE": empty])
        #expect(none.status != 0)
        #expect(none.stderr.contains("vhpc: PBS job 7.pbs: PBS_NODEFILE \(empty) names no host"), "\(none.stderr)")
        let unset = try CLI.run(["run", "--launcher", "pbs", "--", "true"], environment: ["PBS_JOBID": "7.pbs"])
        #expect(unset.stderr.contains("PBS_NODEFILE is not set"), "\(unset.stderr)")
        let outside = try CLI.run(["run", "--launcher", "pbs", "--", "true"])
        #expect(outside.stderr.contains("not inside a PBS job (PBS_JOBID is not set)"), "\(outside.stderr)")
    }
}
