#ifndef VHPC_STEP_KEEPER_H
#define VHPC_STEP_KEEPER_H

/// The process a Slurm job step starts on each node (`vhpc-agent --role step`) keeps the agent: Slurm's
/// `proctrack/linuxproc` finds a step's processes by walking the process tree down from slurmstepd, so a
/// task orphaned by an agent killed with SIGKILL (re-parented to init) would escape the step's cleanup.
/// Before `main`, an ELF constructor in this library sees that command line, becomes a child subreaper and
/// forks: the child goes on as the agent (this returns 1 there), the parent forwards the step's signals
/// (SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2) to it, reaps, and when the agent has gone kills whatever is
/// left below it (bounded to 2 s) and exits with the agent's status (128 + signal if it was killed).
/// Returns 0 in every other process.
int vhpc_step_keeper_kept(void);

#endif
