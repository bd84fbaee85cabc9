import Crypto
import WireCore

extension JobSecret {
    /// The secret of one VM's guest link: HKDF-SHA256 of the job secret, salted with the job id, bound to the
    /// task rank. A guest holds only its own: it can authenticate its link to its tool agent and nothing else
    /// (not another VM's link, not an agent, not the controller), and cannot recover the job secret.
    public func guestSecret(jobID: String, rank: UInt32) -> JobSecret {
        var info = Array("vhpc guest link v1".utf8)
        withUnsafeBytes(of: rank.bigEndian) { info.append(contentsOf: $0) }
        let key = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: bytes), salt: Array(jobID.utf8),
                                         info: info, outputByteCount: 32)
        return key.withUnsafeBytes { JobSecret(bytes: Array($0))! }
    }
}
