import VSE

/// Where each node keeps what the job stages to it (job files, VSE images): its own state directory.
public enum NodeDirectories {
    /// Each node's state directory: `$VHPC_HOME/nodes/<rank>` (every local "node" is this machine, so each
    /// gets its own image cache and stage directory).
    public static func byRank(state: StateDirectory = .resolve()) -> @Sendable (Int) -> String {
        let root = state.root
        return { rank in root + "/nodes/\(rank)" }
    }

    /// The state directory of the node called `name` (agents started as one job step: nodes may share the
    /// filesystem, so the directory is keyed by node, not by rank).
    public static func named(_ name: String, state: StateDirectory = .resolve()) -> String {
        state.root + "/nodes/" + name
    }
}
