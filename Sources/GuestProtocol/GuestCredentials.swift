import WireCore

/// What a guest agent needs to join its job's control plane: the job id, its rank and the job secret.
///
/// The host hands them to the VM out of band, as a QEMU fw_cfg file (`-fw_cfg name=opt/org.vhpc/guest,
/// file=…` naming a file only the job's user can read), never on a command line that `ps` would show. The
/// guest reads them from sysfs (module qemu_fw_cfg). File format: `job=ID`, `rank=N`, `secret=HEX` lines.
public struct GuestCredentials: Sendable {
    /// The fw_cfg item's name.
    public static let firmwareConfigName = "opt/org.vhpc/guest"
    /// Where the guest kernel shows it.
    public static let guestPath = "/sys/firmware/qemu_fw_cfg/by_name/opt/org.vhpc/guest/raw"

    public var jobID: String
    public var rank: UInt32
    public var secret: JobSecret
    /// The VM's identity for a guest restored from a snapshot (see ``GuestIdentity``); nil: the kernel
    /// command line's.
    public var identity: GuestIdentity?

    public init(jobID: String, rank: UInt32, secret: JobSecret, identity: GuestIdentity? = nil) {
        self.jobID = jobID
        self.rank = rank
        self.secret = secret
        self.identity = identity
    }

    /// Every credentials file is this long (padded with newlines): the guest kernel learns an fw_cfg file's
    /// size once, at boot, so a guest restored from a snapshot reads its own file through the template's size.
    public static let fileSize = 4096

    /// Fresh credentials for a VM outside any job (`vhpc vse boot`, `vhpc vm start`): a secret of its own.
    public static func standalone(vmName: String) -> GuestCredentials {
        GuestCredentials(jobID: "vm-" + vmName, rank: 0, secret: .generate())
    }

    /// How the guest agent identifies itself in the handshake.
    public var guestIdentity: PeerIdentity { PeerIdentity(rank: rank, role: .guestAgent) }
    /// How the host end (the tool agent, or a `vhpc vm` command) identifies itself.
    public var hostIdentity: PeerIdentity { PeerIdentity(rank: rank, role: .toolAgent) }

    /// The file the host writes and the guest reads: `fileSize` bytes (a hosts table that would not fit is
    /// left out; the tasks still get it as `VHPC_HOSTS`).
    public var fileContents: String {
        var text = "job=\(jobID)\nrank=\(rank)\nsecret=\(secret.hexEncoded)\n"
        if var identity {
            if text.utf8.count + identity.lines.joined(separator: "\n").utf8.count + 1 > Self.fileSize { identity.hosts = "" }
            text += identity.lines.joined(separator: "\n") + "\n"
        }
        return text + String(repeating: "\n", count: max(0, Self.fileSize - text.utf8.count))
    }

    /// Parses ``fileContents``.
    public init(fileContents: String) throws(GuestCredentialsError) {
        var fields: [Substring: Substring] = [:]
        // A file shorter than the size the guest kernel knows reads back with trailing NULs.
        for line in fileContents.prefix(while: { $0 != "\0" }).split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { throw .malformed("credentials line without '='") }
            fields[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard let job = fields["job"], !job.isEmpty else { throw .malformed("credentials without a job id") }
        guard let rankText = fields["rank"], let rank = UInt32(rankText) else { throw .malformed("credentials without a rank") }
        guard let hex = fields["secret"], let secret = JobSecret(hexEncoded: String(hex)) else {
            throw .malformed("credentials without a valid secret")
        }
        self.init(jobID: String(job), rank: rank, secret: secret, identity: GuestIdentity(fields: fields))
    }
}

/// Why a guest credentials file was rejected.
public enum GuestCredentialsError: Error, Equatable, CustomStringConvertible {
    case malformed(String)

    public var description: String {
        switch self {
        case .malformed(let why): return "bad guest credentials: \(why)"
        }
    }
}
