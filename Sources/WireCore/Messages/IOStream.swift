/// Which standard stream an ``IOData`` belongs to.
public enum IOStream: UInt8, CaseIterable, Hashable, Sendable {
    case stdin = 0
    case stdout = 1
    case stderr = 2
}
