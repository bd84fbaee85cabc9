import GuestProtocol
import V2M
/// The job's VM network: one virtual L2 segment shared by every VM of the job, on every node (V2M's
/// ``JobSwitch`` per node, the switches joined by UDP), with addresses `10.77.x.y/16` by rank and per-rank
/// host names.
///
/// Derived from the job id alone (plus the nodes' addresses from the bootstrap), so every tool agent
/// computes the same plan without talking.
public struct JobNetwork: Sendable {
    let jobID: String
    let imageName: String
    let size: Int

    func hostname(of rank: Int) -> String { "\(imageName)-r\(rank)" }

    func address(of rank: Int) -> String { "10.77.\(rank / 254).\(rank % 254 + 1)" }

    /// A locally administered MAC unique per job and rank.
    func mac(of rank: Int) -> String {
        let h = hash
        let bytes = [0x52, 0x56, Int((h >> 8) & 0xff), Int(h & 0xff), (rank >> 8) & 0xff, rank & 0xff]
        return bytes.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// `name=address` for every rank, space separated (the `VHPC_HOSTS` variable).
    var hostsVariable: String {
        (0..<size).map { "\(hostname(of: $0))=\(address(of: $0))" }.joined(separator: " ")
    }

    /// What the image's init reads: host name, address, and the hosts table when it fits the kernel's
    /// 2 KiB command line.
    func kernelArguments(for rank: Int) -> [String] {
        var words = ["vhpc.hostname=\(hostname(of: rank))", "vhpc.ip=\(address(of: rank))/16"]
        if let table = hostsTable { words.append("vhpc.hosts=" + table) }
        return words
    }

    /// The same for a VM restored from a snapshot, plus its MAC (set by its guest agent).
    func identity(of rank: Int) -> GuestIdentity {
        GuestIdentity(hostname: hostname(of: rank), address: "\(address(of: rank))/16", mac: mac(of: rank), hosts: hostsTable ?? "")
    }

    /// `name=address,…` when it fits the kernel command line.
    private var hostsTable: String? {
        let table = (0..<size).map { "\(hostname(of: $0))=\(address(of: $0))" }.joined(separator: ",")
        return table.utf8.count < 1400 ? table : nil
    }

    private var hash: UInt32 { StableHash.fnv1a(jobID) }
}
