/// Which tasks read the job's stdin (`vhpc run --input`, srun's `--input`): rank 0 by default, every task,
/// one rank, or none. The others read end-of-file at once. The launch carries it in `VHPC_INPUT`.
public enum StdinTarget: Sendable, Hashable, CustomStringConvertible {
    case none
    case all
    case rank(Int)

    /// The launch variable that carries the choice.
    public static let variable = "VHPC_INPUT"
    /// `IOData.task` of stdin meant for every task of the node that receives it.
    public static let everyTask = UInt32.max

    /// `all`, `none` or a rank; nil for anything else.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "all": self = .all
        case "none": self = .none
        default:
            guard let rank = Int(text), rank >= 0 else { return nil }
            self = .rank(rank)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .all: "all"
        case .rank(let rank): "\(rank)"
        }
    }

    /// Whether task `rank` gets a stdin pipe.
    public func includes(_ rank: Int) -> Bool {
        switch self {
        case .none: false
        case .all: true
        case .rank(let target): target == rank
        }
    }
}

extension NodeTaskPlan {
    /// The launch's `--input` choice (rank 0 when it says nothing).
    public var stdinTarget: StdinTarget {
        environment[StdinTarget.variable].flatMap(StdinTarget.init) ?? .rank(0)
    }
}
