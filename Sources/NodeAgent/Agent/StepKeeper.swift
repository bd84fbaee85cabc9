import CStepKeeper

/// The process a job step starts on each node (`vhpc-agent --role step`) runs the agent as its child and
/// outlives it, as a child subreaper. Slurm's `proctrack/linuxproc` finds a step's processes by walking the
/// process tree down from slurmstepd, so a task orphaned by an agent killed with SIGKILL (re-parented to
/// init) would escape the step's cleanup. Re-parented to the keeper instead, it is killed when the agent
/// has gone, and the keeper exits with the agent's status.
///
/// The keeper is C (`CStepKeeper`): an ELF constructor forks before Swift's runtime or any thread exists,
/// the child goes on as the agent and the parent stays behind as the keeper, so a step costs one exec of
/// vhpc-agent, not two.
enum StepKeeper {
    /// Whether this process is an agent its keeper forked (always, for a step agent started as
    /// `vhpc-agent --role step`).
    static var kept: Bool { vhpc_step_keeper_kept() != 0 }
}
