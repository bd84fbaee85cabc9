import ArgumentParser
import Control
import Foundation
import HostProcess
import JobHistory
import Launch
import WireCore
#if canImport(Glibc)
import Glibc
#endif

/// `vhpc agents start|stop`: resident agents on a Slurm allocation's nodes (``ResidentAgents``), so that the
/// allocation's later `vhpc run`s start their agents without a job step (an srun) each, as PRRTE's DVM and
/// Flux's brokers serve their jobs. Opt-in: without them every job starts and ends its own step.
struct AgentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "Keep vhpc's agents on a Slurm allocation's nodes between jobs.",
        subcommands: [Start.self, Stop.self])

    /// `vhpc agents start`.
    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a resident agent on every node of this Slurm allocation.",
            discussion: """
                They run as a job step of their own until `vhpc agents stop` or the allocation's end; each later \
                `vhpc run` in the allocation starts its agents through them instead of starting a step (srun) of \
                its own. Their state (with the secret that authenticates front-ends to them) is kept in \
                $VHPC_HOME/resident/, readable by this user only.
                """)

        @Option(help: "Seconds to wait for every node's agent to report.") var timeout: Int = 60
        @Option(help: "Address the nodes reach this machine at (default: the one on the route to the first node).")
        var frontendAddress: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let allocation = try RunPlan.slurmAllocation(environment) else {
                throw CLIErrors.fail("vhpc agents start: not inside a Slurm allocation (SLURM_JOB_ID is not set)")
            }
            if let existing = ResidentAgentsFile.load(allocation: allocation.jobID, environment: environment),
               ResidentAgentsFile.isRunning(existing) {
                throw CLIErrors.fail("resident agents already run on Slurm job \(allocation.jobID)'s nodes (`vhpc agents stop` first)")
            }
            ResidentAgentsFile.remove(allocation: allocation.jobID, environment: environment)
            guard timeout >= 1 else { throw CLIErrors.fail("--timeout must be at least 1 second") }
            let slurm: SlurmLauncher
            let executable = AgentExecutable.beside()
            do {
                slurm = try SlurmLauncher.installed()
                try AgentExecutable.check(executable)
            } catch {
                throw CLIErrors.fail("\(error)")
            }
            let hosts = allocation.nodes
            let address = try frontendAddress ?? RunPlan.slurmFrontendAddress(hosts: hosts, environment: environment)
            let secret = JobSecret.generate()
            let reports: ResidentReports
            do {
                reports = try await ResidentReports.listen(host: "0.0.0.0", allocation: allocation.jobID, secretHex: secret.hexEncoded,
                                                           window: .seconds(10))
            } catch {
                throw CLIErrors.fail("cannot listen for the resident agents: \(error)")
            }
            defer { reports.shutdown() }
            let configuration = ResidentConfiguration(
                allocation: allocation.jobID, secretHex: secret.hexEncoded,
                report: AgentEndpoint(rank: 0, host: address, port: reports.port, pid: getpid()), handshakeMilliseconds: 10_000)
            let srun = try await Self.startStep(
                srun: slurm.srun,
                arguments: SrunCommand.stepArguments(hosts: hosts, version: slurm.version, killOnBadExit: false, binds: slurm.binds)
                    + [executable] + AgentExecutable.arguments(role: .resident, jobID: ResidentAgents.linkJobID(allocation: allocation.jobID)),
                configuration: configuration, allocation: allocation.jobID, environment: environment)
            let ticks = FrontEndLiveness.startTicks(of: srun) ?? 0
            let deadline = ContinuousClock.now + .seconds(timeout)
            while reports.endpoints.count < hosts.count {
                let ended = ChildReaper.shared.hasExited(srun)
                if ended || ContinuousClock.now > deadline {
                    let missing = hosts.indices.filter { reports.endpoints[$0 + 1] == nil }.map { hosts[$0] }
                    if !ended { await Self.end(srun: srun) }
                    let log = Self.logPath(allocation: allocation.jobID, environment: environment)
                    let output = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
                    throw CLIErrors.fail("resident agents: \(missing.joined(separator: ", ")) did not report "
                        + (ended ? "(their step ended)" : "within \(timeout) s") + (output.isEmpty ? "" : "; srun said:\n\(output)"))
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            var endpoints: [String: AgentEndpoint] = [:]
            for (rank, endpoint) in reports.endpoints where rank >= 1 && rank <= hosts.count { endpoints[hosts[rank - 1]] = endpoint }
            do {
                try ResidentAgentsFile.save(
                    ResidentAgents(allocation: allocation.jobID, secretHex: secret.hexEncoded, endpoints: endpoints, srunPID: srun, srunStartTicks: ticks),
                    environment: environment)
            } catch {
                await Self.end(srun: srun)
                throw error
            }
            print("vhpc: resident agents on \(allocation.nodeList) (Slurm job \(allocation.jobID)): `vhpc run` in this allocation "
                + "starts its agents through them; `vhpc agents stop` ends them")
        }

        /// srun for the agents' step, in a session of its own (it outlives this command; Slurm ends it with the
        /// allocation), its output in a log beside the state file; the configuration on its stdin.
        static func startStep(srun: String, arguments: [String], configuration: ResidentConfiguration, allocation: String,
                              environment: [String: String]) async throws -> pid_t {
            let log = logPath(allocation: allocation, environment: environment)
            try? FileManager.default.createDirectory(atPath: (log as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            let output = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw CLIErrors.fail("cannot write \(log): \(String(cString: strerror(errno)))") }
            defer { close(output) }
            let pipe = try ProcessSpawner.makePipe()
            let pid: pid_t
            do {
                pid = try await ProcessSpawner.spawn(
                    executable: srun, arguments: arguments, environment: environment,
                    streams: .init(stdin: pipe.read, stdout: output, stderr: output), newProcessGroup: true, newSession: true)
            } catch {
                close(pipe.read)
                close(pipe.write)
                throw CLIErrors.fail("cannot start \(srun): \(error)")
            }
            close(pipe.read)
            let line = Array(try JSONEncoder().encode(configuration)) + [UInt8(ascii: "\n")]
            line.withUnsafeBytes { writeAll(pipe.write, $0) }
            close(pipe.write)
            return pid
        }

        static func logPath(allocation: String, environment: [String: String]) -> String {
            let file = ResidentAgentsFile.path(allocation: allocation, environment: environment)
            return String(file.dropLast(".json".count)) + ".log"
        }

        /// Ends the agents' step: SIGTERM to its srun (which ends the step on every node), SIGKILL after 10 s.
        static func end(srun: pid_t) async {
            kill(srun, SIGTERM)
            for _ in 0..<1000 where FrontEndLiveness.startTicks(of: srun) != nil {
                if ChildReaper.shared.hasExited(srun) { return }
                try? await Task.sleep(for: .milliseconds(10))
            }
            kill(srun, SIGKILL)
        }
    }

    /// `vhpc agents stop`.
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End this Slurm allocation's resident agents.")

        @Option(name: .customLong("job"), help: "The Slurm job whose resident agents to end (default: this allocation's).")
        var job: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let allocation = job ?? environment["SLURM_JOB_ID"], !allocation.isEmpty else {
                throw CLIErrors.fail("vhpc agents stop: not inside a Slurm allocation (SLURM_JOB_ID is not set); name one with --job")
            }
            guard let residents = ResidentAgentsFile.load(allocation: allocation, environment: environment) else {
                print("vhpc: no resident agents for Slurm job \(allocation)")
                return
            }
            if ResidentAgentsFile.isRunning(residents) {
                kill(residents.srunPID, SIGTERM)
                var gone = false
                for _ in 0..<1500 {
                    if FrontEndLiveness.startTicks(of: residents.srunPID) != residents.srunStartTicks { gone = true; break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                if !gone {
                    kill(residents.srunPID, SIGKILL)
                    throw CLIErrors.fail("the resident agents' srun (pid \(residents.srunPID)) did not end within 15 s of SIGTERM; killed it")
                }
            }
            ResidentAgentsFile.remove(allocation: allocation, environment: environment)
            unlink(Start.logPath(allocation: allocation, environment: environment))
            print("vhpc: resident agents of Slurm job \(allocation) stopped")
        }
    }
}
