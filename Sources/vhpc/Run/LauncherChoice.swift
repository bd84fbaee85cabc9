import ArgumentParser
import Foundation
import Launch

/// The launchers `--launcher` names.
enum LauncherKind: String, CaseIterable, ExpressibleByArgument {
    case local, ssh, slurm, pbs
}

/// Which launcher `vhpc run` uses: the one given with `--launcher`, else the resource manager vhpc runs under
/// (Slurm when `SLURM_JOB_ID` is set, PBS/Torque when `PBS_JOBID` is), else `local`. An automatic choice is said once on stderr.
enum LauncherChoice {
    static func resolve(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                        note: (String) -> Void = { CLIErrors.printError($0) }) -> String {
        if let explicit { return explicit }
        if let job = environment["SLURM_JOB_ID"], !job.isEmpty {
            note("vhpc: inside Slurm job \(job): using --launcher slurm (--launcher local runs on this machine only)")
            return "slurm"
        }
        if let job = environment["PBS_JOBID"], !job.isEmpty {
            note("vhpc: inside PBS job \(job): using --launcher pbs (--launcher local runs on this machine only)")
            return "pbs"
        }
        return "local"
    }
}

/// `vhpc run --launcher slurm` outside an allocation: allocate like srun does, by running this same command
/// under `salloc` (which releases the allocation when it ends, also when vhpc is killed).
enum SlurmAllocate {
    /// The salloc command line; `arguments` are vhpc's own (after the executable).
    static func command(
        salloc: String, nodes: Int?, hostlist: String?, partition: String?, time: String?, account: String?,
        executable: String, arguments: [String]
    ) -> [String] {
        var command = [salloc, "--nodes=\(nodes ?? 1)"]
        if let hostlist { command.append("--nodelist=\(hostlist)") }
        if let partition { command.append("--partition=\(partition)") }
        if let time { command.append("--time=\(time)") }
        if let account { command.append("--account=\(account)") }
        return command + ["--", executable] + arguments
    }

    /// Replaces this process with salloc running the same vhpc command; returns only on failure.
    static func exec(_ command: [String]) throws -> Never {
        var argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        execv(command[0], &argv)
        throw CLIErrors.fail("cannot run \(command[0]): \(String(cString: strerror(errno)))")
    }
}
