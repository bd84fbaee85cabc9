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

    public init(jobID: String, rank: UInt32, secret: JobSecret) {
        self.jobID = jobID
        self.rank = rank
        self.secret = secret
    }

    /// Fresh credentials for a VM outside any job (`vhpc vse boot`, `vhpc vm start`): a secret of its own.
    public static func standalone(vmName: String) -> GuestCredentials {
        GuestCredentials(jobID: "vm-" + vmName, rank: 0, secret: .generate())
    }

    /// How the guest agent identifies itself in the handshake.
    public var guestIdentity: PeerIdentity { PeerIdentity(rank: rank, role: .guestAgent) }
    /// How the host end (the tool agent, or a `vhpc vm` command) identifies itself.
    public var hostIdentity: PeerIdentity { PeerIdentity(rank: rank, role: .toolAgent) }

    /// The file the host writes and the guest reads.
    public var fileContents: String {
        "job=\(jobID)\nrank=\(rank)\nsecret=\(secret.hexEncoded)\n"
    }

    /// Parses ``fileContents``.
    public init(fileContents: String) throws(GuestCredentialsError) {
        var fields: [Substring: Substring] = [:]
        for line in fileContents.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { throw .malformed("credentials line without '='") }
            fields[line[..<equals]] = line[line.index(after: equals)...]
        }
        guard let job = fields["job"], !job.isEmpty else { throw .malformed("credentials without a job id") }
        guard let rankText = fields["rank"], let rank = UInt32(rankText) else { throw .malformed("credentials without a rank") }
        guard let hex = fields["secret"], let secret = JobSecret(hexEncoded: String(hex)) else {
            throw .malformed("credentials without a valid secret")
        }
        self.init(jobID: String(job), rank: rank, secret: secret)
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
