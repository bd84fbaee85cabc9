import NIOCore

/// What a ``ControlCommand`` asks its targets to do.
public enum ControlOperation: Hashable, Sendable {
    /// Pause the VMs (or processes) of the job.
    case pause
    /// Resume paused VMs.
    case resume
    /// Stop the job's VMs cleanly.
    case stop
    /// Deliver a signal to the application's processes.
    case signal(Int32)
    /// Migrate the target's VM to the node of the given rank.
    case migrate(toRank: UInt32)
    /// Report status (answered with an ack or error).
    case status
    /// Terminate the job: stop everything and let agents exit.
    case terminate

    func encode(into buffer: inout ByteBuffer) {
        let (code, argument): (UInt8, UInt32)
        switch self {
        case .pause: (code, argument) = (1, 0)
        case .resume: (code, argument) = (2, 0)
        case .stop: (code, argument) = (3, 0)
        case .signal(let number): (code, argument) = (4, UInt32(bitPattern: number))
        case .migrate(let rank): (code, argument) = (5, rank)
        case .status: (code, argument) = (6, 0)
        case .terminate: (code, argument) = (7, 0)
        }
        buffer.writeInteger(code)
        buffer.writeInteger(argument)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        let code = try reader.integer("operation", as: UInt8.self)
        let argument = try reader.integer("operation argument", as: UInt32.self)
        switch (code, argument) {
        case (1, 0): self = .pause
        case (2, 0): self = .resume
        case (3, 0): self = .stop
        case (4, _): self = .signal(Int32(bitPattern: argument))
        case (5, _): self = .migrate(toRank: argument)
        case (6, 0): self = .status
        case (7, 0): self = .terminate
        default: throw reader.malformed("bad operation \(code)/\(argument)")
        }
    }
}
