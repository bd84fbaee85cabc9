import Foundation

/// Reads what ``OpenMPIFabrics`` decides from: the node's RDMA and fabric devices and Open MPI's MCA parameter
/// files (the system's, then the agent's user's over it), once per agent process.
public enum OpenMPIFabricProbe {
    /// This node, read on first use.
    public static let node: OpenMPIFabrics.Node = read()

    static func read(home: String? = ProcessInfo.processInfo.environment["HOME"]) -> OpenMPIFabrics.Node {
        let files = FileManager.default
        let rdma = (try? files.contentsOfDirectory(atPath: "/sys/class/infiniband"))?.count ?? 0
        let devices = ((try? files.contentsOfDirectory(atPath: "/dev")) ?? []).filter(OpenMPIFabrics.isFabricDevice).count
        var configured: [String: String] = [:]
        for path in ["/etc/openmpi/openmpi-mca-params.conf"] + (home.map { [$0 + "/.openmpi/mca-params.conf"] } ?? []) {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            configured.merge(OpenMPIFabrics.selections(inParameterFile: text)) { _, user in user }
        }
        return OpenMPIFabrics.Node(rdmaDevices: rdma, fabricDeviceNodes: devices, configured: configured)
    }
}
