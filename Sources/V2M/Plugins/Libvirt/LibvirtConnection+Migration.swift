import CLibvirt
import Foundation

/// Live migration between two libvirt daemons through libvirt's C API.
extension LibvirtConnection {
    /// The running domain's definition as libvirt sends it to a destination (`VIR_DOMAIN_XML_MIGRATABLE`):
    /// the base of a destination XML whose host-side paths are changed.
    func migratableXML(_ name: String) async throws -> String {
        try await lookingUp(name, for: "virDomainLookupByName \(name)") { domain in
            let flags = VIR_DOMAIN_XML_MIGRATABLE.rawValue | VIR_DOMAIN_XML_SECURE.rawValue
            guard let xml = vhpc_virDomainGetXMLDesc(domain, flags) else {
                return .failure(.libvirt(operation: "virDomainGetXMLDesc \(name)", reason: LibvirtConnection.lastError()))
            }
            defer { free(xml) }
            return .success(String(cString: xml))
        }
    }

    /// Live-migrates domain `name` from this daemon to `destination` (`virDomainMigrate3`, driven by this
    /// client: begin/perform on the source, prepare/finish on the destination). QEMU streams the state
    /// over `migrationURI` (e.g. `tcp://127.0.0.1:PORT`; the destination QEMU listens on `listenAddress`);
    /// the destination starts from `destinationXML`. Returns once the destination runs the domain and the
    /// source daemon has ended its QEMU. `unsafe` passes `VIR_MIGRATE_UNSAFE`, which libvirt requires for
    /// disks with a host cache mode that are not on shared storage.
    func migrate(_ name: String, to destination: LibvirtConnection, migrationURI: String, listenAddress: String,
                 destinationXML: String, unsafe: Bool) async throws {
        let operation = "virDomainMigrate3 \(name) to \(destination.uri)"
        try await lookingUp(name, for: operation) { domain -> Result<Void, V2MError> in
            var params: virTypedParameterPtr?
            var count: Int32 = 0
            var capacity: Int32 = 0
            defer { vhpc_virTypedParamsFree(params, count) }
            for (key, value) in [(VIR_MIGRATE_PARAM_URI, migrationURI), (VIR_MIGRATE_PARAM_LISTEN_ADDRESS, listenAddress),
                                 (VIR_MIGRATE_PARAM_DEST_XML, destinationXML)] {
                guard vhpc_virTypedParamsAddString(&params, &count, &capacity, key, value) == 0 else {
                    return .failure(.libvirt(operation: "\(operation): parameter \(key)", reason: LibvirtConnection.lastError()))
                }
            }
            var flags = VIR_MIGRATE_LIVE.rawValue
            if unsafe { flags |= VIR_MIGRATE_UNSAFE.rawValue }
            guard let migrated = vhpc_virDomainMigrate3(domain, destination.pointer, params, UInt32(count), flags) else {
                return .failure(.libvirt(operation: operation, reason: LibvirtConnection.lastError()))
            }
            vhpc_virDomainFree(migrated)
            return .success(())
        }
    }
}
