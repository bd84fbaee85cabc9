/// The destination definition of a libvirt migration (pure; unit-tested).
///
/// It is the source domain's migratable XML with its per-process host paths — the guest-channel unix
/// socket and the console log — moved, so the source and destination QEMU can both exist during the move
/// (on one host they would otherwise bind the same socket). Only host-side paths change; libvirt refuses a
/// destination XML that changes the guest ABI.
public enum LibvirtMigrationXML {
    /// `xml` with every attribute value equal to a `from` path replaced by its `to` path. Throws if a
    /// `from` path does not occur (the source is not defined the way this plug-in defines domains).
    public static func retarget(_ xml: String, moving paths: [(from: String, to: String)]) throws(V2MError) -> String {
        var result = xml
        for (from, to) in paths where from != to {
            var found = false
            for quote in ["'", "\""] {
                let old = quote + LibvirtDomainXML.escape(from) + quote
                guard result.contains(old) else { continue }
                result = result.replacingOccurrences(of: old, with: quote + LibvirtDomainXML.escape(to) + quote)
                found = true
            }
            guard found else {
                throw .invalidProfile("the source domain's XML does not mention \(from); cannot move it for the destination")
            }
        }
        return result
    }
}
