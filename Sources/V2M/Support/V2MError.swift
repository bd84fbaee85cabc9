import HostProcess

/// Everything that can go wrong in V2M, each case naming its cause in one line.
public enum V2MError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A required program is not on PATH.
    case executableMissing(String, searchPath: String)
    /// A command could not be started.
    case spawnFailed(command: String, reason: String)
    /// A helper command (qemu-img, virsh, …) failed.
    case commandFailed(command: String, status: String, output: String)
    /// The VM did not report `ready` over its guest channel in time.
    case bootTimeout(vm: String, seconds: Double, console: [String])
    /// The VM process ended before the guest became ready.
    case exitedDuringBoot(vm: String, status: String, console: [String])
    /// The guest agent could not start a command.
    case guestExecFailed(vm: String, reason: String)
    /// The guest channel closed or could not be opened.
    case guestChannel(vm: String, reason: String)
    /// The guest agent and this host did not authenticate each other (wrong secret or job): retrying cannot help.
    case guestRefused(vm: String, reason: String)
    /// An operation on the guest channel did not complete in time.
    case guestTimeout(vm: String, operation: String)
    /// A QMP command failed or the monitor misbehaved.
    case qmp(vm: String, command: String, reason: String)
    /// A lifecycle operation is not allowed in the VM's current state.
    case illegalTransition(vm: String, from: VMState, operation: String)
    /// The profile planner would put more vCPUs or memory on the node than it has.
    case overSubscription(String)
    /// A profile value is unusable (zero vCPUs, no kernel, a path too long for a unix socket, …).
    case invalidProfile(String)
    /// No VM with this name.
    case unknownVM(String)
    /// A VM of this name already exists.
    case vmExists(String)
    /// The hypervisor can not be used on this host (binary missing, daemon down, generated-only).
    case hypervisorUnavailable(HypervisorKind, reason: String)
    /// The operation is not supported by this plug-in.
    case unsupported(HypervisorKind, operation: String)
    /// Live migration failed.
    case migrationFailed(vm: String, reason: String)
    /// A libvirt call failed.
    case libvirt(operation: String, reason: String)
    /// A fault injected into the simulated hypervisor.
    case injectedFault(vm: String, operation: String)
    /// Reading or writing VM records failed.
    case records(String)

    public var description: String {
        switch self {
        case .executableMissing(let name, let path):
            return "\(name) not found on PATH (\(path)); install it (Debian: \(Self.debianPackage(for: name)))"
        case .spawnFailed(let command, let reason):
            return "could not start `\(command)`: \(reason)"
        case .commandFailed(let command, let status, let output):
            let tail = output.split(separator: "\n").suffix(3).joined(separator: " | ")
            return "`\(command)` \(status)\(tail.isEmpty ? "" : ": \(tail)")"
        case .bootTimeout(let vm, let seconds, let console):
            return "VM \(vm): guest agent not ready after \(Self.format(seconds)) s"
                + (console.isEmpty ? " (console empty)" : "; last console lines: \(console.joined(separator: " | "))")
        case .exitedDuringBoot(let vm, let status, let console):
            return "VM \(vm): QEMU \(status) before the guest was ready"
                + (console.isEmpty ? "" : "; last lines: \(console.joined(separator: " | "))")
        case .guestExecFailed(let vm, let reason):
            return "VM \(vm): guest could not run the command: \(reason)"
        case .guestChannel(let vm, let reason):
            return "VM \(vm): guest channel: \(reason)"
        case .guestRefused(let vm, let reason):
            return "VM \(vm): the guest agent and this host did not authenticate each other (its credentials are not this job's?): \(reason)"
        case .guestTimeout(let vm, let operation):
            return "VM \(vm): guest did not answer \(operation) in time"
        case .qmp(let vm, let command, let reason):
            return "VM \(vm): QMP \(command) failed: \(reason)"
        case .illegalTransition(let vm, let from, let operation):
            return "VM \(vm): cannot \(operation) while \(from)"
        case .overSubscription(let why):
            return "over-subscription refused: \(why) (pass --oversubscribe to allow it)"
        case .invalidProfile(let why):
            return "invalid VM profile: \(why)"
        case .unknownVM(let name):
            return "no VM named '\(name)' (see `vhpc vm list`)"
        case .vmExists(let name):
            return "a VM named '\(name)' already exists"
        case .hypervisorUnavailable(let kind, let reason):
            return "hypervisor \(kind) unavailable: \(reason)"
        case .unsupported(let kind, let operation):
            return "hypervisor \(kind) does not support \(operation)"
        case .migrationFailed(let vm, let reason):
            return "VM \(vm): migration failed: \(reason)"
        case .libvirt(let operation, let reason):
            return "libvirt \(operation) failed: \(reason)"
        case .injectedFault(let vm, let operation):
            return "VM \(vm): injected fault during \(operation)"
        case .records(let why):
            return "VM records: \(why)"
        }
    }

    static func debianPackage(for executable: String) -> String {
        switch executable {
        case "qemu-system-x86_64": return "qemu-system-x86"
        case "qemu-img": return "qemu-utils"
        case "virsh": return "libvirt-clients"
        case "libvirtd", "virtlogd": return "libvirt-daemon-system"
        case "setpriv": return "util-linux"
        case "xl": return "xen-utils"
        default: return executable
        }
    }

    static func format(_ seconds: Double) -> String {
        String(Double(Int(seconds * 10)) / 10)
    }
}

extension V2MError {
    /// Runs `body` (a ``HostCommand``), its failure as a V2M error: a command that cannot start is
    /// `spawnFailed`, a non-zero exit `commandFailed` with the tail of its output.
    static func mapping<T>(_ body: () async throws(HostCommandError) -> T) async throws(V2MError) -> T {
        do {
            return try await body()
        } catch {
            switch error {
            case .notFound(let program):
                throw .spawnFailed(command: program, reason: error.description)
            case .failed(let commandLine, let status, let tail):
                throw .commandFailed(command: commandLine, status: "exited with status \(status)", output: tail)
            }
        }
    }
}
