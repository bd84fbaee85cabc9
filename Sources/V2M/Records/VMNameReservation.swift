import Foundation
import VSE

/// Makes `vhpc vm start --name X` atomic: the name is taken by creating `vms/X.lock` exclusively (O_EXCL)
/// before anything else, so of two concurrent starts of one name exactly one goes on. The lock names its
/// holder's pid; a lock whose holder is gone (a crashed start) is taken over.
public struct VMNameReservation: Sendable {
    public let path: String

    /// Takes `name`, or throws `vmExists` while another live process holds it.
    public static func acquire(_ name: String, state: StateDirectory) throws(V2MError) -> VMNameReservation {
        do { try state.ensure(state.vms) } catch { throw .records("cannot create \(state.vms): \(error)") }
        let path = state.vms + "/" + name + ".lock"
        for _ in 0..<2 {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                let pid = Array("\(getpid())\n".utf8)
                _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                return VMNameReservation(path: path)
            }
            guard errno == EEXIST else { throw .records("cannot create \(path): \(String(cString: strerror(errno)))") }
            let holder = (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let holder, holder > 0, kill(holder, 0) == 0 || errno == EPERM { throw .vmExists(name) }
            // Created but its pid not written yet: a start that has only just begun.
            if holder == nil, let created = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
               Date().timeIntervalSince(created) < 5 { throw .vmExists(name) }
            // The holder is gone (or never wrote its pid and is gone since): take the name over once.
            unlink(path)
        }
        throw .vmExists(name)
    }

    /// Gives the name back (the VM's record, if any, keeps it from then on).
    public func release() {
        unlink(path)
    }
}
