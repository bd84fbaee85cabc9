import Foundation
import Testing

/// `vhpc run --launcher ssh` end to end: real OpenSSH servers in network namespaces acting as separate
/// hosts, agents spawned down the boot tree over ssh, tasks run on their own hosts.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SSHRunTests {
    @Test(arguments: [2, 4])
    func tasksRunOnTheirOwnHostsAndAgentsSpawnDownTheTree(hosts count: Int) async throws {
        try await NetNSHosts.withHosts(count: count) { cluster in
            let state = ControlRunTests.stateDirectory()
            defer { try? FileManager.default.removeItem(atPath: state) }
            let result = try CLI.run(
                ["run", "--launcher", "ssh", "-w", "node[01-\(String(format: "%02d", count))]", "--fanout", "2", "-l", "-K", "0", "--",
                 "sh", "-c", "echo rank=$VHPC_RANK size=$VHPC_SIZE from=${SSH_CONNECTION%% *} on=$(ip -o -4 addr show | grep -o 'inet 10[.0-9]*'); exit $VHPC_RANK"],
                environment: ["VHPC_SSH_CONFIG": cluster.clientConfig, "VHPC_JOB_NAME": state],
                timeout: .seconds(90))
            #expect(result.status == Int32(count - 1), "stderr: \(result.stderr)")
            let lines = Set(result.stdout.split(separator: "\n").map(String.init))
            for (rank, host) in cluster.hosts.enumerated() {
                // Boot tree (fanout 2): agents 1 and 2 are started by the front-end, agent r ≥ 3 by agent (r-1)/2.
                let agent = rank + 1
                let parentAgent = (agent - 1) / 2
                let from = parentAgent == 0
                    ? host.address.split(separator: ".").dropLast().joined(separator: ".") + ".1"
                    : cluster.hosts[parentAgent - 1].address
                let expected = "\(rank): rank=\(rank) size=\(count) from=\(from) on=inet \(host.address)"
                #expect(lines.contains(expected), "missing '\(expected)' in:\n\(result.stdout)\nstderr: \(result.stderr)")
            }
            for pid in try ControlRunTests.recordedPIDs(state) { #expect(!ControlRunTests.isAlive(pid), "agent \(pid) survived") }
        }
    }

    /// The job's VM network across hosts: each host's switch binds the host's own address and the two
    /// switches exchange the VMs' Ethernet frames over UDP between the namespaces.
    @Test func vmsOnTwoHostsShareOneJobNetwork() async throws {
        let build = try CLI.run(["vse", "build", "-q", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        try await NetNSHosts.withHosts(count: 2) { cluster in
            let result = try CLI.run(
                ["run", "--launcher", "ssh", "-w", "node[01-02]", "--vse", "tiny", "--vms-per-node", "1", "-l", "--",
                 "sh", "-c", "if [ $VHPC_RANK = 0 ]; then sleep 8; else sleep 1; ping -c 2 -W 3 tiny-r0 && ping -c 1 -W 3 10.77.0.1; fi"],
                environment: ["VHPC_SSH_CONFIG": cluster.clientConfig], timeout: .seconds(150))
            #expect(result.status == 0, "stdout: \(result.stdout)\nstderr: \(result.stderr)")
            #expect(result.stdout.contains("1: 64 bytes from 10.77.0.1"), "\(result.stdout)\nstderr: \(result.stderr)")
            #expect(ClusterRunTests.leftoverQEMU().isEmpty)
        }
    }

    @Test func unreachableHostIsOneClearError() async throws {
        try await NetNSHosts.withHosts(count: 1) { cluster in
            let result = try CLI.run(["run", "--launcher", "ssh", "-w", "node01,node09", "--", "true"],
                                     environment: ["VHPC_SSH_CONFIG": cluster.clientConfig], timeout: .seconds(60))
            #expect(result.status != 0)
            // One line that names the host, what went wrong there, and the command that failed.
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            let line = String(lines.first ?? "")
            #expect(line.hasPrefix("vhpc: "), "\(line)")
            #expect(line.contains("cannot start on node09"), "\(line)")
            #expect(line.contains("Could not resolve hostname node09"), "\(line)")
            #expect(line.contains("vhpc-agent --role root"), "\(line)")
        }
    }
}

extension SSHRunTests {
    /// Issue 20, finding 2: agents started over ssh listened on every address of their host. Each now binds
    /// the address it advertises (its ssh session's server address): on each namespace host the only vhpc
    /// listeners are on the host's own address (or loopback: the PMIx server), none on 0.0.0.0 or [::].
    @Test func agentsListenOnlyOnTheAddressTheyAdvertise() async throws {
        try await NetNSHosts.withHosts(count: 3) { cluster in
            let result = try CLI.run(
                ["run", "--launcher", "ssh", "-w", "node[01-03]", "--fanout", "2", "-l", "--",
                 "sh", "-c", "ss -Hltnp | grep '\"vhpc-agent\"' | while read -r _ _ _ local _; do echo listen=$local; done"],
                environment: ["VHPC_SSH_CONFIG": cluster.clientConfig], timeout: .seconds(90))
            #expect(result.status == 0, "stderr: \(result.stderr)")
            for (rank, host) in cluster.hosts.enumerated() {
                let listeners = result.stdout.split(separator: "\n").filter { $0.hasPrefix("\(rank): listen=") }
                    .map { String($0.dropFirst("\(rank): listen=".count)) }
                #expect(listeners.contains { $0.hasPrefix(host.address + ":") }, "rank \(rank): \(listeners)\n\(result.stdout)")
                let open = listeners.filter { !$0.hasPrefix(host.address + ":") && !$0.hasPrefix("127.0.0.1:") }
                #expect(open.isEmpty, "rank \(rank) on \(host.address) listens on \(open)")
            }
        }
    }
}
