import NIOCore

/// Start `tasks` copies of a program on the target agents (inside their VMs).
public struct LaunchCommand: Hashable, Sendable {
    /// Chosen by the sender; acks, errors and I/O refer to it.
    public var id: UInt64
    public var target: CommandTarget
    public var executable: String
    public var arguments: [String]
    public var environment: [EnvironmentVariable]
    /// Empty for the default directory.
    public var workingDirectory: String
    /// Processes to start on each target.
    public var tasks: UInt32
    /// Processes, or VMs (which image, plug-in and size).
    public var runtime: TaskRuntime

    public init(
        id: UInt64,
        target: CommandTarget = .all,
        executable: String,
        arguments: [String] = [],
        environment: [EnvironmentVariable] = [],
        workingDirectory: String = "",
        tasks: UInt32 = 1,
        runtime: TaskRuntime = .processes
    ) {
        self.id = id
        self.target = target
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.tasks = tasks
        self.runtime = runtime
    }
}

extension LaunchCommand: PayloadCodable {
    static let kind = MessageKind.launch

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(id)
        target.encode(into: &buffer)
        buffer.writeWireString(executable)
        buffer.writeWireCount(arguments.count)
        for argument in arguments { buffer.writeWireString(argument) }
        buffer.writeWireCount(environment.count)
        for variable in environment { variable.encode(into: &buffer) }
        buffer.writeWireString(workingDirectory)
        buffer.writeInteger(tasks)
        // Optional and last: a launch of processes is byte for byte what it was before (guest agents of images
        // built earlier still read their exec); a VM launch adds tag 1 and its spec.
        if case .vms = runtime { runtime.encode(into: &buffer) }
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        id = try reader.integer("id")
        target = try CommandTarget(reading: &reader)
        executable = try reader.string("executable")
        let argumentCount = try reader.count("argument count", elementSize: 4)
        arguments = []
        arguments.reserveCapacity(min(argumentCount, 256))
        for _ in 0..<argumentCount { arguments.append(try reader.string("argument")) }
        let variableCount = try reader.count("environment count", elementSize: 8)
        environment = []
        environment.reserveCapacity(min(variableCount, 256))
        for _ in 0..<variableCount { environment.append(try EnvironmentVariable(reading: &reader)) }
        workingDirectory = try reader.string("working directory")
        tasks = try reader.integer("tasks")
        // Anything after `tasks` that is not a VM runtime is left to `finish()` (trailing bytes).
        runtime = reader.buffer.getInteger(at: reader.buffer.readerIndex, as: UInt8.self) == 1
            ? try TaskRuntime(reading: &reader) : .processes
    }
}
