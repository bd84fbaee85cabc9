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
            commandName: "start", abstract: "Start a resident agent on every node of this Slurm allocation.",
            discussion: """
                They run as a job step of their own (named vhpc-resident) until `vhpc agents stop` or the \
                allocation's end; each later `vhpc run` in the allocation starts its agents through them instead \
                of starting a step (srun) of its own. Their state (with the secret that authenticates front-ends \
                to them) is kept in $VHPC_HOME/resident/, readable by this user only.
                """)

        @Option(help: "Seconds to wait for every node's agent to report.") var timeout: Int = 60
        @Option(help: "Address the nodes reach this machine at (default: the one on the route to the first node).")
        var frontendAddress: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let allocation = try RunPlan.slurmAllocation(environment) else {
                throw CLIErrors.fail("vhpc agents start: not inside a Slurm allocation (SLURM_JOB_ID is not set)")
            }
            guard timeout >= 1 else { throw CLIErrors.fail("--timeout must be at least 1 second") }
            if let existing = ResidentAgentsFile.load(allocation: allocation.jobID, environment: environment) {
                if ResidentAgentsFile.isRunningHere(existing) || existing.host != ProcessInfo.processInfo.hostName {
                    throw CLIErrors.fail("resident agents already run on Slurm job \(allocation.jobID)'s nodes "
                        + "(started on \(existing.host); `vhpc agents stop` first)")
                }
                ResidentAgentsFile.remove(allocation: allocation.jobID, environment: environment)
            }
            ResidentAgentsFile.pruneStale(environment: environment)
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
                reports = try await ResidentReports.listen(host: address, allocation: allocation.jobID, secretHex: secret.hexEncoded,
                                                           window: .seconds(10))
            } catch {
                throw CLIErrors.fail("cannot listen for the resident agents on \(address): \(error)")
            }
            defer { reports.shutdown() }
            try ResidentAgentsFile.prepareDirectory(environment: environment)
            let configuration = ResidentConfiguration(
                allocation: allocation.jobID, secretHex: secret.hexEncoded,
                report: AgentEndpoint(rank: 0, host: address, port: reports.port, pid: getpid()), handshakeMilliseconds: 10_000)
            let srun = try await Self.startStep(
                srun: slurm.srun,
                arguments: SrunCommand.stepArguments(hosts: hosts, version: slurm.version, killOnBadExit: false, binds: slurm.binds,
                                                     jobName: "vhpc-resident")
                    + [executable] + AgentExecutable.arguments(role: .resident, jobID: ResidentAgents.linkJobID(allocation: allocation.jobID)),
                configuration: configuration, log: ResidentAgentsFile.logPath(allocation: allocation.jobID, environment: environment))
            // Written before the agents report: an interrupted start leaves a state `vhpc agents stop` ends.
            var residents = ResidentAgents(
                allocation: allocation.jobID, secretHex: secret.hexEncoded, endpoints: [:], step: nil,
                host: ProcessInfo.processInfo.hostName, srunPID: srun, srunStartTicks: FrontEndLiveness.startTicks(of: srun) ?? 0)
            do {
                try ResidentAgentsFile.save(residents, environment: environment)
            } catch {
                await Self.end(srun: srun)
                throw error
            }
            let deadline = ContinuousClock.now + .seconds(timeout)
            while reports.reported.endpoints.count < hosts.count {
                let ended = ChildReaper.shared.hasExited(srun)
                if ended || ContinuousClock.now > deadline {
                    let missing = hosts.filter { reports.reported.endpoints[$0] == nil }
                    if !ended { await Self.end(srun: srun) }
                    let log = ResidentAgentsFile.logPath(allocation: allocation.jobID, environment: environment)
                    let output = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(5).joined(separator: "\n") ?? ""
                    ResidentAgentsFile.remove(allocation: allocation.jobID, environment: environment)
                    throw CLIErrors.fail("resident agents: \(missing.joined(separator: ", ")) did not report "
                        + (ended ? "(their step ended)" : "within \(timeout) s") + (output.isEmpty ? "" : "; srun's output ends:\n\(output)"))
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            residents.endpoints = reports.reported.endpoints
            residents.step = reports.reported.step
            do {
                try ResidentAgentsFile.save(residents, environment: environment)
            } catch {
                await Self.end(srun: srun)
                ResidentAgentsFile.remove(allocation: allocation.jobID, environment: environment)
                throw error
            }
            print("vhpc: resident agents on \(allocation.nodeList) (Slurm job \(allocation.jobID), step \(residents.step ?? "?")): "
                + "`vhpc run` in this allocation starts its agents through them; `vhpc agents stop` ends them")
        }

        /// srun for the agents' step (``LocalLauncher``: a session of its own, so it outlives this command;
        /// Slurm ends it with the allocation), its output in `log`, the configuration on its stdin.
        static func startStep(srun: String, arguments: [String], configuration: ResidentConfiguration, log: String) async throws -> pid_t {
            let output = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard output >= 0 else { throw CLIErrors.fail("cannot write \(log): \(String(cString: strerror(errno)))") }
            defer { close(output) }
            do {
                let (process, input) = try await LocalLauncher().start(
                    LaunchRequest(host: "localhost", executable: srun, arguments: arguments), standardOutput: output, standardError: output)
                let line = Array(try JSONEncoder().encode(configuration)) + [UInt8(ascii: "\n")]
                line.withUnsafeBytes { writeAll(input, $0) }
                close(input)
                return process.pid
            } catch {
                throw CLIErrors.fail("cannot start \(srun): \(error)")
            }
        }

        /// Ends the agents' step: SIGTERM to its srun (which ends the step on every node), SIGKILL after 10 s.
        static func end(srun: pid_t) async {
            kill(srun, SIGTERM)
            await ProcessExitWatch.waitUntilGone([srun], for: .seconds(10))
            if !ChildReaper.shared.hasExited(srun), FrontEndLiveness.startTicks(of: srun) != nil { kill(srun, SIGKILL) }
        }
    }

    /// `vhpc agents stop`.
    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stop", abstract: "End this Slurm allocation's resident agents.")

        @Option(name: .customLong("job"), help: "The Slurm job whose resident agents to end (default: this allocation's).")
        var job: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let current = try RunPlan.slurmAllocation(environment)
            guard let allocation = job ?? current?.jobID else {
                throw CLIErrors.fail("vhpc agents stop: not inside a Slurm allocation (SLURM_JOB_ID is not set); name one with --job")
            }
            guard let residents = ResidentAgentsFile.load(allocation: allocation, environment: environment) else {
                print("vhpc: no resident agents for Slurm job \(allocation)")
                return
            }
            if ResidentAgentsFile.isRunningHere(residents) {
                // srun passes SIGTERM to the step: every node's keeper ends its resident agent and what it started.
                kill(residents.srunPID, SIGTERM)
                await ProcessExitWatch.waitUntilGone([residents.srunPID], for: .seconds(15))
                if FrontEndLiveness.startTicks(of: residents.srunPID) == residents.srunStartTicks {
                    kill(residents.srunPID, SIGKILL)
                    ResidentAgentsFile.remove(allocation: allocation, environment: environment)
                    throw CLIErrors.fail("the resident agents' srun (pid \(residents.srunPID)) did not end within 15 s of SIGTERM; killed it")
                }
            } else if let step = residents.step, residents.host != ProcessInfo.processInfo.hostName {
                // Started on another machine: Slurm ends the step from here. The state stays if it cannot (so
                // that `stop` can be tried again).
                guard let scancel = ExecutableLookup.resolve("scancel") else { throw CLIErrors.fail("scancel not found in PATH") }
                let cancelled = try HostCommand(scancel, [step], timeout: .seconds(30)).runAllowingFailure()
                guard cancelled.status == 0 else {
                    throw CLIErrors.fail("scancel \(step): \(cancelled.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
                }
            }
            ResidentAgentsFile.remove(allocation: allocation, environment: environment)
            print("vhpc: resident agents of Slurm job \(allocation) stopped")
        }
    }
}
