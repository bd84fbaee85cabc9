/// What changes when a job's tasks run in VMs (`vhpc run --vse`): the PMIx server stays in the host's node
/// agent, and each guest's ranks reach it through their guest agent, which listens on the guest's loopback
/// and relays over the guest link (the VM's authenticated Wire link) to the node agent, which opens the
/// connection to the server's loopback port itself. Sans I/O.
public enum PMIxGuest {
    /// Where a guest's `/tmp`-like files go: the guest's own (one rank per VM, nothing to share).
    public static let directory = "/tmp"

    /// The server's TCP address from a task's PMIx environment (`PMIX_SERVER_URI4`, else any other
    /// `PMIX_SERVER_URI*`: `pmix-server.PID;tcp4://HOST:PORT`).
    public static func serverAddress(_ environment: [String: String]) -> (host: String, port: Int)? {
        let names = ["PMIX_SERVER_URI4"] + environment.keys.filter { $0.hasPrefix("PMIX_SERVER_URI") }.sorted()
        for name in names {
            guard let uri = environment[name], let range = uri.range(of: "tcp4://") else { continue }
            let address = uri[range.upperBound...]
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
                  (1...65535).contains(port) else { continue }
            return (String(address[..<colon]), port)
        }
        return nil
    }

    /// A guest task's PMIx environment from a host task's (``PMIxServer``'s, from `PMIx_server_setup_fork`):
    /// - job data by request over the connection (`hash`), not from the server's shared-memory store, which
    ///   lives on the host;
    /// - session and temporary directories in the guest;
    /// - Open MPI's byte transfer over TCP (and to itself): ranks of one node agent share a PMIx node, but
    ///   their VMs share no memory, so shared memory (`vader`) must not be tried between them;
    /// - ranks run as the guest's root, which Open MPI refuses unless told it is meant.
    /// `PMIX_SERVER_URI*` stay: the guest agent points them at its relay.
    public static func environment(_ host: [String: String]) -> [String: String] {
        var guest = host.filter { !$0.key.hasPrefix("PMIX_DSTORE_") }
        guest["PMIX_GDS_MODULE"] = "hash"
        guest["PMIX_SERVER_TMPDIR"] = directory
        guest["PMIX_SYSTEM_TMPDIR"] = directory
        guest["OMPI_MCA_orte_tmpdir_base"] = directory
        guest["OMPI_MCA_btl_vader_backing_directory"] = nil
        guest["OMPI_MCA_btl"] = "self,tcp"
        guest["OMPI_MCA_pml"] = "ob1"
        guest["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        guest["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        return guest
    }
}
