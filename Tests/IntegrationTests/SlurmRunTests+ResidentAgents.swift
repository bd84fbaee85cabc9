import Foundation
import Testing

/// `vhpc agents start|stop` on the real 3-node Slurm (scripts/slurm-cluster.sh): resident agents held by one job
/// step for the allocation, later jobs started through them without a step of their own. Part of
/// ``SlurmRunTests`` (serialized): their spare agents must not meet another test's check for leftovers.
extension SlurmRunTests {
    @Test func residentAgentsServeJobsWithoutAStepEach() throws {
        let result = try SlurmCluster.inAllocation(
            """
            "$VHPC" agents start; echo "start exit $?"
            echo "modes: $(stat -c %a "$VHPC_HOME/resident") $(stat -c %a "$VHPC_HOME/resident/slurm-$SLURM_JOB_ID.json")"
            "$VHPC" agents start; echo "second start exit $?"
            "$VHPC" run -l --ntasks-per-node=2 -- sh -c 'echo "on $(hostname)"'; echo "vhpc exit $?"
            "$VHPC" run -N 2 -- sh -c 'exit 3'; echo "vhpc exit $?"
            "$VHPC" run -l -w n3,n2 -- hostname; echo "subset exit $?"
            echo "steps during: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            sleep 0.5; echo "node agents: $(pgrep -fc -- '--role ste[p] ')"
            "$VHPC" agents stop; echo "stop exit $?"
            sleep 1; echo "steps left: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            test -e "$VHPC_HOME/resident/slurm-$SLURM_JOB_ID.json" && echo "state file left"
            "$VHPC" run -N 1 -- true; echo "after stop exit $?"
            """, environment: ["VHPC_HOME": CLI.stateDirectory])
        let context = "stdout: \(result.stdout)\nstderr: \(result.stderr)"
        #expect(result.stdout.contains("start exit 0"), "\(context)")
        #expect(result.stdout.contains("modes: 700 600"), "\(context)")
        #expect(result.stdout.contains("second start exit 1"), "\(context)")
        #expect(result.stderr.contains("resident agents already run"), "\(context)")
        for task in 0..<6 {
            #expect(result.stdout.contains("\(task): on n\(task / 2 + 1)\n"), "\(context)")
        }
        #expect(result.stdout.contains("vhpc exit 0"), "\(context)")
        #expect(result.stdout.contains("vhpc exit 3"), "\(context)")
        // A job on some of the nodes, in another order: each node's agent takes its rank in the job, not in the allocation.
        #expect(result.stdout.contains("0: n3\n") && result.stdout.contains("1: n2\n"), "\(context)")
        #expect(result.stdout.contains("subset exit 0"), "\(context)")
        // Only the resident agents' step: the jobs made none of their own.
        #expect(result.stdout.contains("steps during: 1"), "\(context)")
        #expect(!result.stderr.contains("job step of its own"), "\(context)")
        // Released by the front-end at the job's end, the jobs' agents exited on their own: what is left is one
        // spare per node (its keeper and itself), waiting for the next job.
        #expect(result.stdout.contains("node agents: 6\n"), "\(context)")
        #expect(result.stdout.contains("stop exit 0"), "\(context)")
        #expect(result.stdout.contains("steps left: 0"), "\(context)")
        #expect(!result.stdout.contains("state file left"), "\(context)")
        #expect(result.stdout.contains("after stop exit 0"), "\(context)")
        #expect(SlurmCluster.processes { $0.contains("vhpc-agent --role resident") }.isEmpty)
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    /// A resident agent that is gone, or a front-end that does not hold their secret, cannot start a job's
    /// agents through them: the job starts a step of its own instead, and says so once.
    @Test func aGoneAgentOrAWrongSecretFallsBackToAStepOfItsOwn() throws {
        let result = try SlurmCluster.inAllocation(
            """
            "$VHPC" agents start >/dev/null; echo "start exit $?"
            state="$VHPC_HOME/resident/slurm-$SLURM_JOB_ID.json"
            cp "$state" "$state.kept"
            sed -i 's/"secretHex":"[0-9a-f]*"/"secretHex":"00112233445566778899aabbccddeeff"/' "$state"
            "$VHPC" run -l -- hostname; echo "wrong secret exit $?"
            cp "$state.kept" "$state"; rm "$state.kept"
            pid=$(sed 's/.*"n2":{[^}]*"pid":\\([0-9]*\\).*/\\1/' "$state"); kill -9 "$pid"; sleep 1
            "$VHPC" run -l -- hostname; echo "gone agent exit $?"
            "$VHPC" agents stop; echo "stop exit $?"
            sleep 1; echo "steps left: $(squeue -h -s -j "$SLURM_JOB_ID" | wc -l)"
            """, environment: ["VHPC_HOME": CLI.stateDirectory])
        let context = "stdout: \(result.stdout)\nstderr: \(result.stderr)"
        #expect(result.stdout.contains("start exit 0"), "\(context)")
        #expect(result.stdout.contains("wrong secret exit 0"), "\(context)")
        #expect(result.stdout.contains("gone agent exit 0"), "\(context)")
        for node in 1...3 {
            #expect(result.stdout.components(separatedBy: "\(node - 1): n\(node)\n").count - 1 == 2, "\(context)")
        }
        #expect(result.stderr.components(separatedBy: "job step of its own").count - 1 == 2, "\(context)")
        #expect(result.stderr.contains("n2"), "\(context)")
        #expect(result.stdout.contains("stop exit 0"), "\(context)")
        #expect(result.stdout.contains("steps left: 0"), "\(context)")
        #expect(SlurmCluster.processes { $0.contains("vhpc-agent --role resident") }.isEmpty)
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    /// A node's agent killed mid-job under resident agents: the job goes on on the others and fails, and nothing
    /// of it is left (the resident agent reaps what its agent left).
    @Test func aKilledAgentUnderResidentAgentsIsDetectedWithoutLeftovers() throws {
        let result = try SlurmCluster.inAllocation(
            """
            "$VHPC" agents start >/dev/null; echo "start exit $?"
            "$VHPC" run -l --mpi none --on-failure continue --heartbeat 500ms -- sh -c \\
              'if [ "$(hostname)" = n2 ]; then kill -9 $PPID; sleep 30; fi; sleep 2; echo "done on $(hostname)"'
            echo "vhpc exit $?"
            sleep 1; echo "sleepers left: $(pgrep -xc -f 'sleep 30')"
            "$VHPC" run -l -- hostname; echo "next job exit $?"
            "$VHPC" agents stop; echo "stop exit $?"
            """, environment: ["VHPC_HOME": CLI.stateDirectory])
        let context = "stdout: \(result.stdout)\nstderr: \(result.stderr)"
        #expect(result.stdout.contains("0: done on n1"), "\(context)")
        #expect(result.stdout.contains("2: done on n3"), "\(context)")
        #expect(!result.stdout.contains("done on n2"), "\(context)")
        #expect(result.stdout.contains("vhpc exit 1") || result.stdout.contains("vhpc exit 137"), "\(context)")
        #expect(result.stderr.contains("agent 2"), "\(context)")
        #expect(result.stdout.contains("sleepers left: 0"), "\(context)")
        #expect(result.stdout.contains("1: n2"), "\(context)")
        #expect(result.stdout.contains("next job exit 0"), "\(context)")
        #expect(result.stdout.contains("stop exit 0"), "\(context)")
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    /// A job's node agent that fails says why on the front-end's stderr, as under a step of its own (here: the
    /// front-end told them an address where nothing listens, and each gives up on its parent).
    @Test func aNodeAgentsErrorReachesTheFrontEnd() throws {
        let result = try SlurmCluster.inAllocation(
            """
            "$VHPC" agents start >/dev/null; echo "start exit $?"
            "$VHPC" run --handshake-timeout 2s --frontend-address 127.0.0.1 -- true; echo "vhpc exit $?"
            "$VHPC" agents stop; echo "stop exit $?"
            """, environment: ["VHPC_HOME": CLI.stateDirectory])
        let context = "stdout: \(result.stdout)\nstderr: \(result.stderr)"
        #expect(result.stdout.contains("start exit 0"), "\(context)")
        #expect(!result.stdout.contains("vhpc exit 0"), "\(context)")
        // The agents' own log lines, next to the front-end's "agent N failed (handshake-failed, seen by controller)".
        #expect(result.stderr.contains("exiting: no handshake with parent agent 0"), "\(context)")
        #expect(result.stdout.contains("stop exit 0"), "\(context)")
        #expect(SlurmCluster.agentProcesses().isEmpty)
    }

    @Test func outsideAnAllocationItIsOneClearError() throws {
        let start = try CLI.run(["agents", "start"], timeout: .seconds(30))
        #expect(start.status == 1)
        #expect(start.stderr.contains("not inside a Slurm allocation"), "\(start.stderr)")
        let stop = try CLI.run(["agents", "stop"], timeout: .seconds(30))
        #expect(stop.status == 1)
        #expect(stop.stderr.contains("--job"), "\(stop.stderr)")
    }
}
